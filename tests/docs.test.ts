/**
 * The front door and its pages stay true: every link and anchor resolves, every key of Pulumi.yaml is on the
 * configuration page, the README's commands exist, the README stays short, and `npm run up` helps a newcomer who
 * lacks the Pulumi CLI or still has the example's ids.
 */
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
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

describe("npm run up for a newcomer", () => {
    /** A PATH with the shell's tools and no `pulumi`. */
    function pathWithoutPulumi(): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "no-pulumi-"));
        for (const tool of ["bash", "grep", "sed", "awk", "head", "tail", "cut", "dirname", "mkdir", "cat"]) {
            const found = execFileSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim();
            fs.symlinkSync(found, path.join(dir, tool));
        }
        return dir;
    }

    it("names the keys that still hold the example's placeholder ids, before anything is called", () => {
        const run = spawnSync("bash", [path.join(ROOT, "scripts", "up.sh"), "dev"], {
            encoding: "utf8",
            env: { PATH: pathWithoutPulumi() },
        });
        assert.equal(run.status, 2, run.stderr);
        assert.match(run.stderr, /Pulumi\.dev\.yaml still holds the example's placeholder ids/);
        for (const key of ["clusterTenantId", "clusterSubscriptionId", "registryTenantId", "registryIds"]) {
            assert.match(run.stderr, new RegExp(`  - ${key}\\n`));
        }
        assert.doesNotMatch(run.stderr, /clusterName|clusterResourceGroup/, "keys with real-looking values are not named");
    });

    it("says how to install the Pulumi CLI when there is none", () => {
        const run = spawnSync("bash", [path.join(ROOT, "scripts", "up.sh"), "a-stack-with-no-file"], {
            encoding: "utf8",
            env: { PATH: pathWithoutPulumi() },
        });
        assert.equal(run.status, 127, run.stderr);
        assert.match(run.stderr, /needs the Pulumi CLI \(3\.x\), and there is no 'pulumi' on the PATH/);
        assert.match(run.stderr, /https:\/\/get\.pulumi\.com/);
        assert.ok(!fs.existsSync(path.join(ROOT, ".pulumi-state", "a-stack-with-no-file")));
    });
});
