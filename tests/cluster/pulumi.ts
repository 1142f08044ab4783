/**
 * The Pulumi engine for the cluster tests, offline: the rig's `pulumi` CLI with its bundled Node.js language host,
 * a file backend and a `PULUMI_HOME` in a scratch directory, the Kubernetes plugin installed there under the
 * version label the npm SDK asks for, and no plugin downloads, update checks or ambient kubeconfig.
 *
 * A test stack is a program under `tests/cluster/stacks/<name>/`, compiled with the rest by `tsc`; its project
 * file is written next to the compiled program, so node resolves `@pulumi/pulumi` from the repository's
 * node_modules exactly as for the main program.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RigBinaries } from "./rig";

/** What one `pulumi` command printed. */
export interface PulumiResult {
    readonly exitCode: number;
    readonly stdout: string;
    readonly stderr: string;
    /** stdout and stderr, for assertions on messages wherever the CLI prints them. */
    readonly output: string;
}

const PASSPHRASE = "aks-acr-cross-tenant-cluster-tests";
// A whole up of a few dozen resources takes seconds; a hang must fail the test, not stall CI.
const COMMAND_TIMEOUT_MS = 240_000;

/** A failure that carries everything the command printed, so a red CI says why. */
export class PulumiCommandError extends Error {
    constructor(
        readonly args: readonly string[],
        readonly result: PulumiResult,
        expected: string,
    ) {
        super(
            `pulumi ${args.join(" ")} ${expected} but exited ${result.exitCode}:\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
        );
    }
}

/** Writes the project file of the compiled test stack `program` in `projectDir`. */
function writeProject(projectDir: string, program: string): void {
    if (!fs.existsSync(path.join(projectDir, "index.js"))) {
        throw new Error(`${projectDir}/index.js is missing: run tsc first (npm run test:cluster does)`);
    }
    fs.writeFileSync(
        path.join(projectDir, "Pulumi.yaml"),
        [
            `name: aks-acr-cross-tenant-${program.toLowerCase()}`,
            // The program itself, not the "main" of the package.json above it (the library).
            "main: index.js",
            "runtime:",
            "  name: nodejs",
            "  options:",
            // Compiled already: the engine runs the JavaScript tsc wrote.
            "    typescript: false",
            "",
        ].join("\n"),
    );
}

export class PulumiWorkspace {
    private constructor(
        /** Directory of the compiled program and its Pulumi.yaml. */
        readonly projectDir: string,
        private readonly home: string,
        private readonly env: NodeJS.ProcessEnv,
        readonly stack: string,
    ) {}

    /**
     * A fresh backend and stack for the program `tests/cluster/stacks/<program>`, with `extraEnv` for every command
     * (and so for the language host and the providers the engine starts).
     */
    static async create(
        binaries: RigBinaries,
        program: string,
        extraEnv: NodeJS.ProcessEnv = {},
        /** The compiled stacks to take the program from: this checkout's unless given (an earlier version's, say). */
        stacksDir: string = path.resolve(__dirname, "stacks"),
    ): Promise<PulumiWorkspace> {
        const projectDir = path.join(stacksDir, program);
        writeProject(projectDir, program);
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "aks-acr-pulumi-"));
        const backend = path.join(home, "state");
        fs.mkdirSync(backend);
        const env: NodeJS.ProcessEnv = {
            PATH: [binaries.pulumiBinDir, path.dirname(process.execPath), process.env.PATH ?? ""].join(path.delimiter),
            HOME: home,
            PULUMI_HOME: path.join(home, ".pulumi"),
            PULUMI_BACKEND_URL: `file://${backend}`,
            PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_SKIP_CONFIRMATIONS: "true",
            // Only the plugins installed below and those bundled next to `pulumi`: nothing a machine happens to have.
            PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
            // The delivery must use the kubeconfig it is given, never an ambient one.
            KUBECONFIG: path.join(home, "no-such-kubeconfig"),
            NO_COLOR: "1",
            ...extraEnv,
        };
        const workspace = new PulumiWorkspace(projectDir, home, env, `rig${process.pid}${Date.now().toString(36)}`);
        await workspace.expectSuccess([
            "plugin",
            "install",
            "resource",
            "kubernetes",
            binaries.kubernetesPluginVersion,
            "--file",
            binaries.kubernetesPlugin,
        ]);
        await workspace.expectSuccess(["stack", "init", workspace.stack]);
        return workspace;
    }

    /** Runs `pulumi args...` in the project, whatever its exit code. */
    run(args: readonly string[], input?: string): Promise<PulumiResult> {
        return new Promise((resolve, reject) => {
            const child = execFile(
                "pulumi",
                [...args],
                { cwd: this.projectDir, env: this.env, timeout: COMMAND_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
                (error, stdout, stderr) => {
                    const exitCode = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
                    if (error !== null && exitCode === -1) {
                        reject(new Error(`pulumi ${args.join(" ")} did not run to an exit code: ${error.message}\n${stdout}\n${stderr}`));
                        return;
                    }
                    resolve({ exitCode, stdout, stderr, output: `${stdout}\n${stderr}` });
                },
            );
            if (input !== undefined) child.stdin?.end(input);
            else child.stdin?.end();
        });
    }

    async expectSuccess(args: readonly string[], input?: string): Promise<PulumiResult> {
        const result = await this.run(args, input);
        if (result.exitCode !== 0) throw new PulumiCommandError(args, result, "should succeed");
        return result;
    }

    async expectFailure(args: readonly string[]): Promise<PulumiResult> {
        const result = await this.run(args);
        if (result.exitCode === 0) throw new PulumiCommandError(args, result, "should fail");
        return result;
    }

    /** Sets a config value of the stack; secrets go through stdin, never the command line. */
    async setConfig(key: string, value: unknown, options: { readonly secret?: boolean } = {}): Promise<void> {
        const text = typeof value === "string" ? value : JSON.stringify(value);
        // Lists and objects are stored as their JSON text, which Config.requireObject parses.
        const args = ["config", "set", "--stack", this.stack, key];
        if (options.secret) args.push("--secret");
        await this.expectSuccess(args, text);
    }

    async setAllConfig(values: Readonly<Record<string, unknown>>, secrets: readonly string[] = []): Promise<void> {
        for (const [key, value] of Object.entries(values)) {
            await this.setConfig(key, value, { secret: secrets.includes(key) });
        }
    }

    preview(...extra: string[]): Promise<PulumiResult> {
        return this.expectSuccess(["preview", "--stack", this.stack, "--non-interactive", "--diff", ...extra]);
    }

    up(...extra: string[]): Promise<PulumiResult> {
        return this.expectSuccess(["up", "--stack", this.stack, "--non-interactive", "--yes", "--skip-preview", ...extra]);
    }

    destroy(...extra: string[]): Promise<PulumiResult> {
        return this.expectSuccess(["destroy", "--stack", this.stack, "--non-interactive", "--yes", "--skip-preview", ...extra]);
    }

    /** The stack's outputs, secrets shown, as the CLI prints them. */
    async outputs(): Promise<Record<string, unknown>> {
        const result = await this.expectSuccess(["stack", "output", "--stack", this.stack, "--json", "--show-secrets"]);
        return JSON.parse(result.stdout) as Record<string, unknown>;
    }

    /** The stack's state as `pulumi stack export` writes it (secrets stay encrypted). */
    async state(): Promise<{
        deployment: { resources?: { urn: string; type: string; id?: string; outputs?: Record<string, unknown> }[] };
    }> {
        const result = await this.expectSuccess(["stack", "export", "--stack", this.stack]);
        return JSON.parse(result.stdout) as { deployment: { resources?: { urn: string; type: string; id?: string }[] } };
    }

    /**
     * The size in bytes of the stack's checkpoint as the file backend keeps it: the file the engine rewrites after
     * every step while checkpoints are on.
     */
    checkpointBytes(): number {
        const stacks = path.join(this.home, "state", ".pulumi", "stacks");
        const find = (directory: string): string | undefined => {
            for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
                const full = path.join(directory, entry.name);
                if (entry.isDirectory()) {
                    const found = find(full);
                    if (found !== undefined) return found;
                } else if (entry.name === `${this.stack}.json` || entry.name === `${this.stack}.json.gz`) {
                    return full;
                }
            }
            return undefined;
        };
        const file = fs.existsSync(stacks) ? find(stacks) : undefined;
        if (file === undefined) throw new Error(`no checkpoint of stack ${this.stack} under ${stacks}`);
        return fs.statSync(file).size;
    }

    /**
     * The same stack and backend, run from the compiled test stack `program` under `stacksDir` from now on: what an
     * upgrade does to a stack (its config file comes along).
     */
    moveTo(stacksDir: string, program: string): PulumiWorkspace {
        const projectDir = path.join(stacksDir, program);
        writeProject(projectDir, program);
        const stackFile = `Pulumi.${this.stack}.yaml`;
        fs.copyFileSync(path.join(this.projectDir, stackFile), path.join(projectDir, stackFile));
        return new PulumiWorkspace(projectDir, this.home, this.env, this.stack);
    }

    /** Removes the stack's backend, plugins and project file: nothing of the engine stays behind. */
    dispose(): void {
        fs.rmSync(this.home, { recursive: true, force: true });
        fs.rmSync(path.join(this.projectDir, "Pulumi.yaml"), { force: true });
        fs.rmSync(path.join(this.projectDir, `Pulumi.${this.stack}.yaml`), { force: true });
    }
}
