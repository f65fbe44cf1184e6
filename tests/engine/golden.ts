/** The checked-in `pulumi preview --diff` displays (`golden/*.txt`) and how a run's display is compared with them. */
import * as fs from "fs";
import * as path from "path";

/**
 * The `uploads` block of a container's diff, replaced by one line: uploads are a set in the docker provider's
 * state, ordered by a hash of their (random) contents, so which old upload the preview pairs with which new one
 * varies between runs. Tests that use it assert what the block must show separately.
 */
export const UPLOADS_BLOCK: [RegExp, string] = [
    /^( *)~ uploads: \[\n[\s\S]*?^\1 {2}\]\n/gm,
    "$1~ uploads: [changed; pairing varies between runs]\n",
];

/**
 * Compares `display` with golden/<name>.txt after replacing what differs between runs: each `literals` value by
 * `<key>`, then each pattern, then lines that carry times, links or progress ticks. PDC_UPDATE_GOLDEN=1 rewrites the file instead.
 */
export function expectGolden(
    name: string,
    display: string,
    literals: Record<string, string>,
    patterns: readonly [RegExp, string][] = [],
): void {
    let text = display;
    for (const [key, value] of Object.entries(literals)) text = text.split(value).join(`<${key}>`);
    for (const [pattern, replacement] of patterns) text = text.replace(pattern, replacement);
    text = `${text
        .replace(/\r/g, "")
        .replace(/^.*(Duration|View in Browser|Permalink).*\n/gm, "")
        // The CLI's progress ticks ("@ previewing update....") appear only when a step takes a while: load, not content.
        .replace(/^\s*@ \w+ (update|destroy|refresh)\.*\s*\n/gm, "")
        .trim()}\n`;
    const file = path.join(__dirname, "golden", `${name}.txt`);
    if (process.env.PDC_UPDATE_GOLDEN === "1") fs.writeFileSync(file, text);
    expect(text).toBe(fs.readFileSync(file, "utf8"));
}
