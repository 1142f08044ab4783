/**
 * The front door and its pages stay true: every link and anchor resolves, every key of Pulumi.yaml is on the
 * configuration page, the README's commands exist, the README stays short, and every command a page tells the reader
 * to type (the lines of its ```sh blocks) is either run by something named in TESTED or follows a
 * `# needs Azure: <why>` line; and a pulumi command on a stack uses the backend `npm run up` chose, in sh blocks, cron
 * entries and the text. (The messages docs/troubleshooting.md quotes: tests/troubleshootingMessages.test.ts.)
 * (`npm run up` itself: tests/up.test.ts.)
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "..", "..");
const PAGES = [
    "README.md",
    ...fs
        .readdirSync(path.join(ROOT, "docs"))
        .filter((f) => f.endsWith(".md"))
        .map((f) => `docs/${f}`),
];

/**
 * The docs' commands that something runs, and what runs them: a test, or the CI script that runs the suites. An
 * entry names a file that must exist and hold `evidence`, so it cannot outlive what it points at. A command that
 * needs a real Azure tenant and that no test runs yet follows a `# needs Azure: <why>` line in its block instead;
 * when a test starts running it (the cluster suite against the Azure twin), add it here.
 */
const TESTED: ReadonlyArray<{ readonly command: RegExp; readonly runBy: string; readonly evidence: string }> = [
    { command: /^npm ci$/, runBy: ".ci/run", evidence: "npm ci" },
    { command: /^npm test( -- --grep "[^"]+")?$/, runBy: ".ci/run", evidence: "npm test" },
    { command: /^npm run test:cluster( -- --grep "[^"]+")?$/, runBy: ".ci/run", evidence: "npm run test:cluster" },
    { command: /^npm run up -- \S+( .+)?$/, runBy: "tests/up.test.ts", evidence: '"scripts", "up.sh"' },
    { command: /^export PULUMI_BACKEND_URL=/, runBy: "tests/up.test.ts", evidence: "documentedExportLine()" },
    { command: /^npm run validate$/, runBy: ".github/workflows/preview.yml", evidence: "npm run validate" },
    { command: /^npm run measure( -- --quick)?$/, runBy: "tests/cluster/startup.test.ts", evidence: '"--quick"' },
    { command: /^npm run measure -- --profile$/, runBy: "tests/cluster/startup.test.ts", evidence: '"--profile"' },
    { command: /^node bin\/scripts\/measureScale\.js( --quick)?$/, runBy: "tests/cluster/startup.test.ts", evidence: "measureScale.js" },
    { command: /^bash tests\/cluster\/rig\/build\.sh$/, runBy: "tests/cluster/rig.ts", evidence: '"build.sh"' },
    // The whole program against the Azure twin (docs/testing.md), the page's commands one by one.
    { command: /^pulumi stack --show-urns --stack <stack>$/, runBy: "tests/cluster/program.test.ts", evidence: '"--show-urns"' },
    {
        command:
            /^pulumi config set (--secret restoreClientSecret|clusterDeletePolicy restore|restoreClientId <client id>) --stack <stack>$/,
        runBy: "tests/cluster/program.test.ts",
        evidence: '"restoreClientId", original.clientId',
    },
    { command: /^pulumi destroy --stack <stack>$/, runBy: "tests/cluster/program.test.ts", evidence: '["destroy", "--stack", stack' },
];

/** The one line that gives a shell the backend `npm run up` chose (scripts/up.sh), as every page writes it. */
const EXPORT_LINE = 'export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.pulumi-state}"';

/** pulumi commands that act on a stack, and so on a backend. */
const STACK_COMMAND = /(?:^|\s|\$\()pulumi (?:up|preview|refresh|destroy|config|stack|import|state|cancel|watch)\b/;

interface DocCommand {
    readonly page: string;
    readonly line: string;
    /** The `# needs Azure: <why>` above it in its paragraph of the block, if any. */
    readonly needsAzure: string | undefined;
}

/** The command lines of a page's ```sh blocks, continuation lines joined, each with its marker. */
function commandsOf(page: string): { commands: DocCommand[]; problems: string[] } {
    const text = fs.readFileSync(path.join(ROOT, page), "utf8");
    const commands: DocCommand[] = [];
    const problems: string[] = [];
    for (const [, , body] of text.matchAll(/^([ \t]*)```sh\n([\s\S]*?)^\1```[ \t]*$/gm)) {
        let needsAzure: string | undefined;
        for (const line of body
            .replace(/\\\n\s*/g, " ")
            .split("\n")
            .map((l) => l.trim())) {
            if (line === "") {
                needsAzure = undefined;
            } else if (line.startsWith("#")) {
                const marker = /^# needs Azure: (\S.*)$/.exec(line);
                if (marker) needsAzure = marker[1];
                else if (/needs azure/i.test(line)) problems.push(`${page}: "${line}" is not "# needs Azure: <why>"`);
            } else {
                commands.push({ page, line, needsAzure });
            }
        }
    }
    return { commands, problems };
}
/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
    return heading
        .trim()
        .toLowerCase()
        .replace(/[^\w\- ]/g, "")
        .replace(/ /g, "-");
}

function anchorsOf(page: string): Set<string> {
    const text = fs.readFileSync(path.join(ROOT, page), "utf8").replace(/```[\s\S]*?```/g, "");
    return new Set([...text.matchAll(/^#+ (.+)$/gm)].map((match) => slug(match[1])));
}

/** Markdown links outside code: `[text](target)`. */
function linksOf(page: string): string[] {
    const text = fs
        .readFileSync(path.join(ROOT, page), "utf8")
        .replace(/```[\s\S]*?```/g, "")
        .replace(/`[^`\n]*`/g, "");
    return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]);
}

describe("the docs", () => {
    it("resolve every link and anchor, in the README and every page", () => {
        const broken: string[] = [];
        for (const page of PAGES) {
            for (const link of linksOf(page)) {
                if (/^https?:\/\//.test(link) || link.startsWith("mailto:")) continue;
                const [file, anchor] = link.split("#");
                const target = file === "" ? page : path.normalize(path.join(path.dirname(page), file));
                if (!fs.existsSync(path.join(ROOT, target))) {
                    broken.push(`${page}: ${link} (no ${target})`);
                } else if (anchor !== undefined && target.endsWith(".md") && !anchorsOf(target).has(anchor)) {
                    broken.push(`${page}: ${link} (no heading #${anchor} in ${target})`);
                }
            }
        }
        assert.deepEqual(broken, []);
        assert.ok(PAGES.length >= 15, `${PAGES.length} pages`);
    });

    it("document every key of Pulumi.yaml on the configuration page", () => {
        const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { config: Record<string, unknown> };
        const page = fs.readFileSync(path.join(ROOT, "docs", "configuration.md"), "utf8");
        const missing = Object.keys(project.config).filter((key) => !page.includes(`| \`${key}\` |`));
        assert.deepEqual(missing, [], "keys without a row on docs/configuration.md");
    });

    it("keep the README a short front door whose commands exist", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        assert.ok(readme.split("\n").length <= 200, `README.md has ${readme.split("\n").length} lines`);
        const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> })
            .scripts;
        const commands = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
            .flatMap((block) => block[1].split(/\n|&&/).map((c) => c.trim()))
            .filter(Boolean);
        assert.ok(commands.includes("npm test") && commands.includes("npm run test:cluster"), "the test commands are in the README");
        for (const command of commands) {
            const match = /^npm (?:run ([\w:-]+)|(test))\b/.exec(command);
            if (match) assert.ok(scripts[match[1] ?? match[2]], `README runs "${command}", which package.json does not define`);
        }
        // Every page starts with what it answers.
        for (const page of PAGES.filter((p) => p.startsWith("docs/"))) {
            const [title, blank, answers] = fs.readFileSync(path.join(ROOT, page), "utf8").split("\n");
            assert.ok(
                title.startsWith("# ") && blank === "" && /^[_*].+/.test(answers),
                `${page} does not start with its title and what it answers`,
            );
        }
    });
});

describe("the docs' commands", () => {
    const parsed = PAGES.map(commandsOf);
    const commands = parsed.flatMap((p) => p.commands);

    it("are each run by a test (or CI) named in TESTED, or follow a line saying why they need Azure", () => {
        const problems = parsed.flatMap((p) => p.problems);
        for (const { page, line, needsAzure } of commands) {
            if (needsAzure !== undefined) continue;
            for (const part of line.split(" && ")) {
                if (!TESTED.some((entry) => entry.command.test(part))) {
                    problems.push(`${page}: "${part}" is run by nothing in TESTED and has no "# needs Azure: <why>" line above it`);
                }
            }
        }
        assert.deepEqual(problems, []);
        assert.ok(commands.length >= 30, `${commands.length} command lines found`);
        assert.ok(
            commands.some((c) => c.needsAzure !== undefined),
            "no command is marked: the marker's spelling changed?",
        );
    });

    it("name in TESTED only files that run them, and only commands the docs still give", () => {
        for (const entry of TESTED) {
            const file = path.join(ROOT, entry.runBy);
            assert.ok(fs.existsSync(file), `${entry.runBy} does not exist`);
            assert.ok(fs.readFileSync(file, "utf8").includes(entry.evidence), `${entry.runBy} does not hold ${entry.evidence}`);
            assert.ok(
                commands.some((c) => c.line.split(" && ").some((part) => entry.command.test(part))),
                `no page gives ${String(entry.command)}`,
            );
        }
    });

    it("run pulumi on a stack only with the backend npm run up chose, set once per page before the first", () => {
        const problems: string[] = [];
        for (const page of PAGES) {
            let exported = false;
            for (const { line } of commands.filter((c) => c.page === page)) {
                if (line.startsWith("export PULUMI_BACKEND_URL=")) {
                    if (line !== EXPORT_LINE) problems.push(`${page}: "${line}" is not ${EXPORT_LINE}`);
                    exported = true;
                } else if (STACK_COMMAND.test(line) && !exported && !/^PULUMI_BACKEND_URL=\S+ /.test(line)) {
                    problems.push(`${page}: "${line}" runs before the page sets PULUMI_BACKEND_URL`);
                }
            }
        }
        assert.deepEqual(problems, []);
        const running = commandsOf("docs/running.md").commands.map((c) => c.line);
        assert.ok(running.includes(EXPORT_LINE), "docs/running.md, where npm run up is explained, shows the export line");
    });

    it("give the backend npm run up chose to every command on a stack outside sh blocks too: cron entries and commands in the text", () => {
        const problems: string[] = [];
        for (const page of PAGES) {
            const text = fs.readFileSync(path.join(ROOT, page), "utf8");
            // Commands are read from sh blocks (above) and cron entries; a block of another language holds none.
            for (const [, language, body] of text.matchAll(/^[ \t]*```(\w*)\n([\s\S]*?)^[ \t]*```[ \t]*$/gm)) {
                const lines = body
                    .split("\n")
                    .map((l) => l.trim())
                    .filter((l) => l !== "" && !l.startsWith("#"));
                const runsStack = (line: string): boolean => STACK_COMMAND.test(line) || /npm run up\b/.test(line);
                if (language === "cron") {
                    // cron runs with none of the user's environment: the entry's backend must be set in the crontab.
                    let backendSet = false;
                    for (const line of lines) {
                        if (/^PULUMI_BACKEND_URL=\S+$/.test(line)) backendSet = true;
                        else if (runsStack(line) && !backendSet) {
                            problems.push(`${page}: the cron entry "${line}" runs without a PULUMI_BACKEND_URL= line above it`);
                        }
                    }
                } else if (!["sh", "ts"].includes(language)) {
                    for (const line of lines.filter(runsStack)) {
                        problems.push(
                            `${page}: "${line}" is in a \`\`\`${language} block; commands go in sh blocks, where they are checked`,
                        );
                    }
                }
            }
            // A whole command in the text (`pulumi <command> ... --stack <stack>`), which a reader may copy: on a page
            // that sets the backend, or in a paragraph that says it is what npm run up runs or names.
            const setsBackend = commandsOf(page).commands.some((c) => c.line === EXPORT_LINE);
            for (const paragraph of text.replace(/```[\s\S]*?```/g, "").split(/\n\s*\n/)) {
                for (const [, span] of paragraph.matchAll(/`([^`]+)`/g)) {
                    const command = span.replace(/\s+/g, " ");
                    if (STACK_COMMAND.test(command) && /--stack\b/.test(command) && !setsBackend && !paragraph.includes("`npm run up")) {
                        problems.push(`${page}: "${command}" is given in the text of a page that never sets PULUMI_BACKEND_URL`);
                    }
                }
            }
        }
        assert.deepEqual(problems, []);
    });
});
