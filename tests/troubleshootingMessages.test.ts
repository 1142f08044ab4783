/**
 * docs/troubleshooting.md quotes what the product prints, so a quote must be something the code can print. Each
 * entry of the page opens with a bold heading; every message quoted in one (a code span of three words or more that
 * is not a command) must match a string the code holds: a string or template literal in components/, scripts/ or
 * index.ts (a template's `${...}`, a `+` of non-literals, the items of a joined list: wildcards), or a quoted string
 * of scripts/up.sh. In a quote `<...>` and `...` are wildcards. Messages of other systems (AKS, ACR, ESO) are listed
 * in OTHERS with who prints them, and must still be on the page.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "..", "..");
const PAGE = path.join(ROOT, "docs", "troubleshooting.md");

/** Quotes of messages other programs print, which the page explains; each must still be quoted on the page. */
const OTHERS: ReadonlyArray<{ readonly quote: RegExp; readonly printedBy: string }> = [
    {
        quote: /^Service principal clientID: <id> not found in Active Directory tenant <tenant>$/,
        printedBy: "AKS (ServicePrincipalNotFound)",
    },
    {
        quote: /^error using generator: http call\(https:\/\/login\.microsoftonline\.com\//,
        printedBy: "External Secrets Operator v0.20.4, Entra's AADSTS70021",
    },
    {
        quote: /^\.\.\. reply status code was 400: \{"error":"unauthorized_client"/,
        printedBy: "External Secrets Operator v0.20.4, Entra's AADSTS700016",
    },
    { quote: /^error processing spec\.dataFrom\[0\]\.sourceRef\.generatorRef, err: /, printedBy: "External Secrets Operator v0.20.4" },
    { quote: /^Invalid clientid or client secret\.$/, printedBy: "ACR's token service" },
    { quote: /^Application not registered with AAD\.$/, printedBy: "ACR's token service" },
    { quote: /^authentication required, visit https:\/\/aka\.ms\/acr\/authorization \.\.\.$/, printedBy: "ACR's token service" },
    { quote: /^unauthorized: authentication required$/, printedBy: "the registry (distribution)" },
    { quote: /^denied: requested access to the resource is denied$/, printedBy: "the registry (distribution)" },
];

/** A wildcard in a pattern: matches any text, including none. */
const STAR = -1;
type Pattern = readonly number[];

function literal(text: string): number[] {
    return [...text.replace(/\s+/g, " ")].map((c) => c.codePointAt(0) ?? 0);
}

/** A quote as a pattern: `<...>` and `...` are wildcards, and it may sit anywhere inside a longer message. */
export function quotePattern(quote: string): Pattern {
    const parts = quote.split(/<[^<>\n]+>|\.\.\.|…/);
    return [STAR, ...parts.flatMap((part, i) => (i === 0 ? literal(part) : [STAR, ...literal(part)])), STAR];
}

/**
 * The most literal characters of `quote` that `code` can match when both are read as patterns of text and
 * wildcards, or -1 if no text matches both. Every wildcard may swallow any stretch of the other side.
 */
export function alignment(code: Pattern, quote: Pattern): number {
    const n = code.length;
    const m = quote.length;
    const none = -1;
    // best[i][j]: the best for code[i:] against quote[j:]; computed from the ends, one row per i.
    let next = new Int32Array(m + 1).fill(none);
    let row = new Int32Array(m + 1);
    for (let i = n; i >= 0; i--) {
        for (let j = m; j >= 0; j--) {
            let best = none;
            if (i === n && j === m) {
                best = 0;
            } else {
                if (i < n && code[i] === STAR) {
                    best = Math.max(best, next[j]);
                    if (j < m) best = Math.max(best, row[j + 1]);
                }
                if (j < m && quote[j] === STAR) {
                    best = Math.max(best, row[j + 1]);
                    if (i < n) best = Math.max(best, next[j]);
                }
                if (i < n && j < m && code[i] !== STAR && code[i] === quote[j] && next[j + 1] !== none) {
                    best = Math.max(best, next[j + 1] + 1);
                }
            }
            row[j] = best;
        }
        [next, row] = [row, next];
    }
    return next[0];
}

/** The string patterns a TypeScript file holds: literals, templates, `+` chains and string lists. */
function patternsOfTypeScript(file: string): Pattern[] {
    const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
    const patterns: Pattern[] = [];
    // Functions of the file that only return a string (`describe(target)`), inlined where they are called.
    const returns = new Map<string, ts.Expression>();
    ts.forEachChild(source, (node) => {
        const statements = ts.isFunctionDeclaration(node) && node.name ? node.body?.statements : undefined;
        if (
            ts.isFunctionDeclaration(node) &&
            node.name &&
            statements?.length === 1 &&
            ts.isReturnStatement(statements[0]) &&
            statements[0].expression
        ) {
            returns.set(node.name.text, statements[0].expression);
        }
    });
    const asPattern = (node: ts.Node): Pattern => {
        if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && returns.has(node.expression.text)) {
            return asPattern(returns.get(node.expression.text)!);
        }
        if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return literal(node.text);
        if (ts.isTemplateExpression(node)) {
            return [
                ...literal(node.head.text),
                ...node.templateSpans.flatMap((span) => [...asPattern(span.expression), ...literal(span.literal.text)]),
            ];
        }
        if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
            return [...asPattern(node.left), ...asPattern(node.right)];
        }
        if (ts.isParenthesizedExpression(node)) return asPattern(node.expression);
        if (ts.isArrayLiteralExpression(node))
            return node.elements.flatMap((element, i) => [...(i > 0 ? [STAR] : []), ...asPattern(element)]);
        return [STAR];
    };
    const visit = (node: ts.Node): void => {
        if (
            ts.isStringLiteral(node) ||
            ts.isNoSubstitutionTemplateLiteral(node) ||
            ts.isTemplateExpression(node) ||
            (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) ||
            ts.isArrayLiteralExpression(node)
        ) {
            patterns.push(asPattern(node));
        }
        ts.forEachChild(node, visit);
    };
    visit(source);
    return patterns;
}

/** The double-quoted strings of a bash script, `$name`, `${...}` and `$(...)` as wildcards. */
function patternsOfBash(file: string): Pattern[] {
    return [...fs.readFileSync(file, "utf8").matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((match) =>
        match[1]
            .split(/\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_]*/)
            .flatMap((part, i) => [...(i > 0 ? [STAR] : []), ...literal(part)]),
    );
}

function filesUnder(dir: string, extension: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) return filesUnder(full, extension);
        return entry.name.endsWith(extension) && !entry.name.endsWith(".d.ts") ? [full] : [];
    });
}

/**
 * Every string the product's code holds, as patterns; only those with some text of their own. Each may be part of a
 * longer message (formatProblem's `<key>: got <value>; expected <form>` around a value), so text may come before
 * and after it.
 */
export function productPatterns(): Pattern[] {
    const typescript = [
        path.join(ROOT, "index.ts"),
        ...filesUnder(path.join(ROOT, "components"), ".ts"),
        ...filesUnder(path.join(ROOT, "scripts"), ".ts"),
    ];
    const bash = filesUnder(path.join(ROOT, "scripts"), ".sh");
    return [...typescript.flatMap(patternsOfTypeScript), ...bash.flatMap(patternsOfBash)]
        .filter((pattern) => pattern.filter((c) => c !== STAR).length >= 8)
        .map((pattern) => [STAR, ...pattern, STAR]);
}

/** The messages quoted in the page's bold headings (the bold text that opens a paragraph or a list item). */
export function quotedMessages(page: string): string[] {
    const quotes: string[] = [];
    for (const [, heading] of page.replace(/```[\s\S]*?```/g, "").matchAll(/(?:^|\n\n|\n[ \t]*- )\*\*([\s\S]+?)\*\*/g)) {
        for (const [, span] of heading.matchAll(/`([^`]+)`/g)) {
            const text = span.replace(/\s+/g, " ").trim();
            if (text.split(" ").length >= 3 && !/^(npm|pulumi|kubectl|az) /.test(text)) quotes.push(text);
        }
    }
    return quotes;
}

/** Is `quote` something the code can print: a pattern that matches it, with enough of its words in common? */
function printable(quote: string, patterns: readonly Pattern[]): boolean {
    const pattern = quotePattern(quote);
    const own = pattern.filter((c) => c !== STAR).length;
    // A wildcard of the code may stand for composed text (a describe() call, a constant, the rest of a message
    // built from parts): a third of the quote's own text, and at least 12 characters, must be the code's literal text.
    const needed = Math.max(12, Math.ceil(own / 3));
    return patterns.some((code) => alignment(code, pattern) >= needed);
}

describe("docs/troubleshooting.md's messages", () => {
    const page = fs.readFileSync(PAGE, "utf8");
    const quotes = quotedMessages(page);
    let patterns: Pattern[];
    before(() => {
        patterns = productPatterns();
    });

    it("are each a message the code can print, or another program's named in OTHERS", function () {
        this.timeout(60_000);
        const unmatched = quotes.filter((quote) => !OTHERS.some((other) => other.quote.test(quote)) && !printable(quote, patterns));
        assert.deepEqual(unmatched, [], "quoted in docs/troubleshooting.md, and nothing in components/, scripts/ or index.ts prints it");
        assert.ok(quotes.length >= 20, `${quotes.length} quotes found: the heading format changed?`);
    });

    it("name in OTHERS only quotes the page still makes", () => {
        for (const other of OTHERS) {
            assert.ok(
                quotes.some((quote) => other.quote.test(quote)),
                `OTHERS lists ${String(other.quote)} (${other.printedBy}), no longer quoted`,
            );
        }
    });

    it("fail on a quote nothing prints, and pass a composed message with its placeholders", function () {
        this.timeout(60_000);
        assert.equal(printable("the Pulumi CLI is not installed", patterns), false);
        assert.equal(printable("Refusing to delete the credential binding of the registry", patterns), false);
        assert.equal(printable("the cluster could not be reached in time", patterns), false);
        assert.equal(printable("... needs the Pulumi CLI (3.x), and there is no 'pulumi' on the PATH", patterns), true);
        assert.equal(
            printable("Cannot add the image pull secret to service account <ns>/<name>: <the API server's reason>", patterns),
            true,
        );
        assert.deepEqual(
            quotedMessages("**`one two three`** and\n\n- **`four five six`**: x `not a heading quote`\n\n**`npm run up -- dev`**"),
            ["one two three", "four five six"],
        );
    });
});
