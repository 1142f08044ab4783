/**
 * `npm run up -- <stack>` (scripts/up.sh) as a user meets it. A stand-in `pulumi`, first on the PATH, records each
 * call (its arguments, working directory and PULUMI_BACKEND_URL) and exits as told, so the path that calls pulumi is
 * checked as closely as the refusals before it: which commands, in which order, on which backend, with which code.
 * The real CLI against a stack runs in the cluster suite.
 */
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync, type SpawnSyncReturns } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const UP = path.join(ROOT, "scripts", "up.sh");
const STATE = path.join(ROOT, ".pulumi-state");
const LOCAL_BACKEND = `file://${ROOT}/.pulumi-state`;

/** One call of the stand-in pulumi. */
interface Call {
    readonly cwd: string;
    readonly backend: string | undefined;
    readonly args: readonly string[];
}

// Records one tab-separated line per call; exits with UP_TEST_EXIT's code when its first argument is UP_TEST_FAIL.
const STAND_IN = `#!/usr/bin/env bash
{
    printf '%s\\t%s' "$PWD" "\${PULUMI_BACKEND_URL-<unset>}"
    printf '\\t%s' "$@"
    printf '\\n'
} >>"$UP_TEST_LOG"
if [ "\${1-}" = "\${UP_TEST_FAIL-}" ]; then exit "$UP_TEST_EXIT"; fi
`;

/** Pulumi.dev.yaml with every placeholder id replaced by a random one: a stack file as a user fills it in. */
function realLookingStackFile(): string {
    return fs
        .readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")
        .replace(/([0-9a-f])\1{7}-\1{4}-\1{4}-\1{4}-\1{12}/g, () => crypto.randomUUID());
}

/** The PULUMI_BACKEND_URL line of docs/running.md, which the other pages repeat. */
function documentedExportLine(): string {
    const line = /^export PULUMI_BACKEND_URL=.*$/m.exec(fs.readFileSync(path.join(ROOT, "docs", "running.md"), "utf8"));
    assert.ok(line, "docs/running.md shows no export PULUMI_BACKEND_URL line");
    return line[0];
}

/** What `line`, run by bash in `cwd` with `env`, leaves in PULUMI_BACKEND_URL. */
function backendAfter(line: string, cwd: string, env: NodeJS.ProcessEnv): string {
    return execFileSync("bash", ["-c", `${line}\nprintf %s "$PULUMI_BACKEND_URL"`], { cwd, env, encoding: "utf8" });
}

describe("npm run up", () => {
    const unique = `up-test-${process.pid}-${crypto.randomBytes(3).toString("hex")}`;
    const stackFile = path.join(ROOT, `Pulumi.${unique}.yaml`);
    let dir: string;
    let log: string;
    let createdState: boolean;

    /** The environment of a user's shell, with the stand-in first on the PATH and no backend chosen. */
    function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
        const base = { ...process.env };
        delete base.PULUMI_BACKEND_URL;
        return { ...base, PATH: `${dir}${path.delimiter}${process.env.PATH ?? ""}`, UP_TEST_LOG: log, ...extra };
    }

    /** Runs up.sh from another directory, as `npm run` may, and returns what it printed and the calls it made. */
    function up(args: readonly string[], environment: NodeJS.ProcessEnv = env()): { run: SpawnSyncReturns<string>; calls: Call[] } {
        fs.rmSync(log, { force: true });
        const run = spawnSync("bash", [UP, ...args], { cwd: os.tmpdir(), encoding: "utf8", env: environment });
        const calls = fs.existsSync(log)
            ? fs
                  .readFileSync(log, "utf8")
                  .split("\n")
                  .filter(Boolean)
                  .map((line) => {
                      const [cwd, backend, ...rest] = line.split("\t");
                      return { cwd, backend: backend === "<unset>" ? undefined : backend, args: rest };
                  })
            : [];
        return { run, calls };
    }

    /** A PATH with the shell's tools and no `pulumi`. */
    function pathWithoutPulumi(): string {
        const tools = fs.mkdtempSync(path.join(dir, "no-pulumi-"));
        for (const tool of ["bash", "dirname", "mkdir"]) {
            const found = execFileSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim();
            fs.symlinkSync(found, path.join(tools, tool));
        }
        return tools;
    }

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "up-test-"));
        log = path.join(dir, "calls.tsv");
        fs.writeFileSync(path.join(dir, "pulumi"), STAND_IN, { mode: 0o755 });
        fs.writeFileSync(stackFile, realLookingStackFile());
        createdState = !fs.existsSync(STATE);
    });

    after(() => {
        fs.rmSync(stackFile, { force: true });
        fs.rmSync(dir, { recursive: true, force: true });
        // The local backend directory up.sh made for these runs, unless something else has put state in it since.
        if (createdState && fs.existsSync(STATE) && fs.readdirSync(STATE).length === 0) fs.rmdirSync(STATE);
    });

    it("is what package.json's up script runs", () => {
        const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> })
            .scripts;
        assert.equal(scripts.up, "bash scripts/up.sh");
    });

    it("selects (creating) the stack, then runs pulumi up on it with the flags given, in the project, on the local file backend", () => {
        const { run, calls } = up([unique, "--yes", "--diff", "--message", "two words"]);
        assert.equal(run.status, 0, run.stderr);
        assert.deepEqual(calls, [
            { cwd: ROOT, backend: LOCAL_BACKEND, args: ["stack", "select", "--create", unique] },
            { cwd: ROOT, backend: LOCAL_BACKEND, args: ["up", "--stack", unique, "--yes", "--diff", "--message", "two words"] },
        ]);
        assert.ok(fs.statSync(STATE).isDirectory(), "the file backend's directory exists before pulumi is called");
        assert.ok(
            run.stderr.includes(
                `backend: ${LOCAL_BACKEND} (export PULUMI_BACKEND_URL=${LOCAL_BACKEND} to run other pulumi commands on this stack)\n`,
            ),
            run.stderr,
        );
        assert.doesNotMatch(run.stderr, /placeholder|does not exist yet/);
    });

    it("prints an export line that gives other commands its backend, as does the line the docs show", () => {
        const { run } = up([unique]);
        assert.equal(run.status, 0, run.stderr);
        const printed = /\((export PULUMI_BACKEND_URL=.*) to run other pulumi commands on this stack\)/.exec(run.stderr);
        assert.ok(printed, run.stderr);
        assert.equal(backendAfter(printed[1], os.tmpdir(), env()), LOCAL_BACKEND);
        // The docs' line is run from the project's folder, where a user runs npm run up.
        assert.equal(backendAfter(documentedExportLine(), ROOT, env()), LOCAL_BACKEND);
    });

    it("uses the PULUMI_BACKEND_URL it is given, and prints it for reuse", () => {
        const backend = "azblob://pulumi-state?storage_account=contoso state";
        const { run, calls } = up([unique, "--yes"], env({ PULUMI_BACKEND_URL: backend }));
        assert.equal(run.status, 0, run.stderr);
        assert.deepEqual(
            calls.map((call) => call.backend),
            [backend, backend],
        );
        assert.match(run.stderr, /^backend: azblob:\/\/pulumi-state\?storage_account=contoso state \(export PULUMI_BACKEND_URL=/m);
        const printed = /\((export PULUMI_BACKEND_URL=.*) to run other pulumi commands on this stack\)/.exec(run.stderr);
        assert.ok(printed, run.stderr);
        assert.equal(backendAfter(printed[1], os.tmpdir(), env()), backend);
        assert.equal(backendAfter(documentedExportLine(), ROOT, env({ PULUMI_BACKEND_URL: backend })), backend);
    });

    it("creates a stack whose file does not exist yet, saying that the program will name the keys it needs", () => {
        const stack = `${unique}-new`;
        const { run, calls } = up([stack]);
        assert.equal(run.status, 0, run.stderr);
        assert.deepEqual(
            calls.map((call) => call.args),
            [
                ["stack", "select", "--create", stack],
                ["up", "--stack", stack],
            ],
        );
        assert.match(run.stderr, new RegExp(`Pulumi\\.${stack}\\.yaml does not exist yet: the stack starts with no configuration`));
        assert.ok(!fs.existsSync(path.join(ROOT, `Pulumi.${stack}.yaml`)), "up.sh itself writes no stack file");
    });

    it("exits with pulumi's code when pulumi up fails, and when selecting the stack fails, without going on", () => {
        const failedUp = up([unique, "--yes"], env({ UP_TEST_FAIL: "up", UP_TEST_EXIT: "3" }));
        assert.equal(failedUp.run.status, 3, failedUp.run.stderr);
        assert.equal(failedUp.calls.length, 2);
        const failedSelect = up([unique, "--yes"], env({ UP_TEST_FAIL: "stack", UP_TEST_EXIT: "4" }));
        assert.equal(failedSelect.run.status, 4, failedSelect.run.stderr);
        assert.deepEqual(
            failedSelect.calls.map((call) => call.args[0]),
            ["stack"],
        );
    });

    it("names the keys that still hold the example's placeholder ids, before anything is called", () => {
        for (const stack of ["dev", "an-org/dev"]) {
            const { run, calls } = up([stack]);
            assert.equal(run.status, 2, run.stderr);
            assert.deepEqual(calls, [], "pulumi was called");
            assert.match(run.stderr, /^Pulumi\.dev\.yaml still holds the example's placeholder ids/);
            for (const key of ["clusterTenantId", "clusterSubscriptionId", "registryTenantId", "registryIds"]) {
                assert.match(run.stderr, new RegExp(`\\n  - ${key}\\n`));
            }
            assert.equal(run.stderr.match(/\n {2}- registryIds\n/g)?.length, 1, "a key with two placeholder ids is named once");
            assert.doesNotMatch(run.stderr, /clusterName|clusterResourceGroup/, "keys with real-looking values are not named");
            assert.match(run.stderr, /Nothing was called\.\n$/);
        }
    });

    it("says how to install the Pulumi CLI when there is none", () => {
        const { run } = up([unique], { PATH: pathWithoutPulumi() });
        assert.equal(run.status, 127, run.stderr);
        assert.match(run.stderr, /needs the Pulumi CLI \(3\.x\), and there is no 'pulumi' on the PATH/);
        assert.match(run.stderr, /https:\/\/get\.pulumi\.com/);
        assert.doesNotMatch(run.stderr, /command not found/, "127 must come from the check, not from a missing tool");
    });

    it("says how to call it without a stack, or with a flag where the stack goes", () => {
        for (const args of [[], [""], ["--yes"]]) {
            const { run, calls } = up(args);
            assert.equal(run.status, 2, run.stderr);
            assert.equal(run.stderr, "usage: npm run up -- <stack> [pulumi up flags], e.g. npm run up -- dev\n");
            assert.deepEqual(calls, []);
        }
    });
});
