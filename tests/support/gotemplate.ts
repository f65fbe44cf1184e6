/**
 * A tiny evaluator for the subset of Go's text/template syntax our consul-template templates use:
 * `{{ range service "NAME" }} … {{ else }} … {{ end }}`, `{{ .Address }}`, `{{ .Port }}`, and the `{{-` / `-}}`
 * whitespace trimming markers. Used to prove the template renders exactly what `renderUpstreamsFromInstances`
 * produces for the same instances. Anything else in a template is an error, so the template cannot silently use
 * syntax this evaluator (and the proof) does not cover.
 */

export interface Instance {
    readonly address: string;
    readonly port: number;
}

type Node =
    | { kind: "text"; text: string }
    | { kind: "field"; field: "Address" | "Port" }
    | { kind: "range"; service: string; body: Node[]; otherwise: Node[] };

interface Token {
    kind: "text" | "action";
    text: string;
}

function tokenize(src: string): Token[] {
    const tokens: Token[] = [];
    let i = 0;
    while (i < src.length) {
        const open = src.indexOf("{{", i);
        if (open < 0) {
            tokens.push({ kind: "text", text: src.slice(i) });
            break;
        }
        tokens.push({ kind: "text", text: src.slice(i, open) });
        const close = src.indexOf("}}", open);
        if (close < 0) throw new Error("unterminated action");
        let inner = src.slice(open + 2, close);
        if (inner.startsWith("-")) {
            const prev = tokens[tokens.length - 1];
            prev.text = prev.text.replace(/\s+$/, "");
            inner = inner.slice(1);
        }
        let trimAfter = false;
        if (inner.endsWith("-")) {
            trimAfter = true;
            inner = inner.slice(0, -1);
        }
        tokens.push({ kind: "action", text: inner.trim() });
        i = close + 2;
        if (trimAfter) {
            while (i < src.length && /\s/.test(src[i])) i++;
        }
    }
    return tokens;
}

function parse(tokens: Token[]): Node[] {
    let pos = 0;
    const block = (stops: string[]): { nodes: Node[]; stop: string } => {
        const nodes: Node[] = [];
        while (pos < tokens.length) {
            const t = tokens[pos++];
            if (t.kind === "text") {
                if (t.text) nodes.push({ kind: "text", text: t.text });
                continue;
            }
            if (stops.includes(t.text)) return { nodes, stop: t.text };
            const m = /^range service "([^"]+)"$/.exec(t.text);
            if (m) {
                const body = block(["else", "end"]);
                const otherwise = body.stop === "else" ? block(["end"]).nodes : [];
                nodes.push({ kind: "range", service: m[1], body: body.nodes, otherwise });
                continue;
            }
            if (t.text === ".Address" || t.text === ".Port") {
                nodes.push({ kind: "field", field: t.text.slice(1) as "Address" | "Port" });
                continue;
            }
            throw new Error(`unsupported template action {{ ${t.text} }}`);
        }
        if (stops.length > 0) throw new Error(`missing {{ ${stops.join(" / ")} }}`);
        return { nodes, stop: "" };
    };
    return block([]).nodes;
}

function evaluate(nodes: Node[], services: Readonly<Record<string, readonly Instance[]>>, dot?: Instance): string {
    return nodes
        .map((n) => {
            if (n.kind === "text") return n.text;
            if (n.kind === "field") {
                if (!dot) throw new Error(`.${n.field} outside range`);
                return n.field === "Address" ? dot.address : String(dot.port);
            }
            const list = services[n.service] ?? [];
            return list.length === 0
                ? evaluate(n.otherwise, services)
                : list.map((inst) => evaluate(n.body, services, inst)).join("");
        })
        .join("");
}

/** Renders `template` as consul-template would when Consul reports `services` (name → healthy instances). */
export function renderGoTemplate(template: string, services: Readonly<Record<string, readonly Instance[]>>): string {
    return evaluate(parse(tokenize(template)), services);
}
