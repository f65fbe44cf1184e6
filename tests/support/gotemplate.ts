/**
 * A tiny evaluator for the subset of Go's text/template syntax our consul-template templates use:
 * `{{ range service "NAME" }} … {{ else }} … {{ end }}`, `{{ .Address }}`, `{{ .Port }}`, integer variables
 * (`{{ $n := 0 }}`, `{{ $n = add $n 1 }}`), `{{ if regexMatch "RE" .Address }}` and `{{ if eq $n 0 }}` blocks
 * (consul-template's functions; an RE2 expression that means the same in JS), and the `{{-` / `-}}`
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
    | { kind: "range"; service: string; body: Node[]; otherwise: Node[] }
    | { kind: "set"; name: string; value: number | "increment" }
    | { kind: "if"; test: { regexMatch: RegExp } | { zero: string }; body: Node[] };

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
            const declare = /^\$(\w+) := (\d+)$/.exec(t.text);
            if (declare) {
                nodes.push({ kind: "set", name: declare[1], value: Number(declare[2]) });
                continue;
            }
            const increment = /^\$(\w+) = add \$(\w+) 1$/.exec(t.text);
            if (increment && increment[1] === increment[2]) {
                nodes.push({ kind: "set", name: increment[1], value: "increment" });
                continue;
            }
            const match = /^if regexMatch "([^"]+)" \.Address$/.exec(t.text);
            const zero = /^if eq \$(\w+) 0$/.exec(t.text);
            if (match || zero) {
                const body = block(["end"]);
                nodes.push({
                    kind: "if",
                    test: match ? { regexMatch: new RegExp(match[1]) } : { zero: zero![1] },
                    body: body.nodes,
                });
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

function evaluate(
    nodes: Node[],
    services: Readonly<Record<string, readonly Instance[]>>,
    vars: Map<string, number>,
    dot?: Instance,
): string {
    return nodes
        .map((n) => {
            if (n.kind === "text") return n.text;
            if (n.kind === "field") {
                if (!dot) throw new Error(`.${n.field} outside range`);
                return n.field === "Address" ? dot.address : String(dot.port);
            }
            if (n.kind === "set") {
                if (n.value === "increment") {
                    const v = vars.get(n.name);
                    if (v === undefined) throw new Error(`$${n.name} assigned before it is declared`);
                    vars.set(n.name, v + 1);
                } else vars.set(n.name, n.value);
                return "";
            }
            if (n.kind === "if") {
                let holds: boolean;
                if ("regexMatch" in n.test) {
                    if (!dot) throw new Error(".Address outside range");
                    holds = n.test.regexMatch.test(dot.address);
                } else {
                    const v = vars.get(n.test.zero);
                    if (v === undefined) throw new Error(`$${n.test.zero} used before it is declared`);
                    holds = v === 0;
                }
                return holds ? evaluate(n.body, services, vars, dot) : "";
            }
            const list = services[n.service] ?? [];
            return list.length === 0
                ? evaluate(n.otherwise, services, vars)
                : list.map((inst) => evaluate(n.body, services, vars, inst)).join("");
        })
        .join("");
}

/** Renders `template` as consul-template would when Consul reports `services` (name → healthy instances). */
export function renderGoTemplate(template: string, services: Readonly<Record<string, readonly Instance[]>>): string {
    return evaluate(parse(tokenize(template)), services, new Map());
}
