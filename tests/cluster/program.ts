/**
 * The whole program as a user runs it, under the rig's Pulumi engine: `index.ts` started by the language host's
 * ts-node registration with `Pulumi.yaml`'s own `tsconfig` and `nodeargs`, stack files written the way
 * docs/configuration.md says, `npm run up` where the docs say so, and the Azure side served by the twin (its
 * provider plugins installed under the exact names and versions the SDKs ask for, its HTTPS face reached through
 * `HTTPS_PROXY` with the run's CA trusted).
 *
 * The program's files are copied into a scratch project (a checkout of a commit for the upgrade test), with the
 * repository's `node_modules` linked in, so stack files, `.pulumi-state/` and the engine's work never touch the
 * repository.
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { installTwinPlugins } from "../twin/install";
import type { RigBinaries } from "./rig";
import { PulumiCommandError, type PulumiResult } from "./pulumi";

const ROOT = path.resolve(__dirname, "..", "..", "..");
/** What a user's checkout needs to run the program and its scripts. */
const PROGRAM_FILES = [
    "index.ts",
    "components",
    "Pulumi.yaml",
    "tsconfig.json",
    "tsconfig.pulumi.json",
    "package.json",
    "scripts/up.sh",
    "policy",
];
const PASSPHRASE = "aks-acr-cross-tenant-program-tests";
// A cold ts-node start and a few dozen resources take seconds; a hang must fail the test, not stall CI.
const COMMAND_TIMEOUT_MS = 300_000;
const PROJECT = "aks-acr-cross-tenant";

export interface ProgramProjectOptions {
    /** The twin's store file (`AZURE_TWIN_STORE`) and the HTTPS face's client environment (proxy, CA). */
    readonly twinEnv: Readonly<Record<string, string>>;
    /** A commit to take the program from instead of the working tree (the upgrade test). */
    readonly commit?: string;
    /** A directory holding the state and the plugins, to share one backend between two projects. */
    readonly home?: string;
    /**
     * An example stack instead of the program: its files are copied into a new directory under `under`, whose
     * `node_modules` (the packed library and its dependencies) node finds by walking up.
     */
    readonly example?: { readonly dir: string; readonly under: string };
    /** A project directory laid out already (the flat program `npm run measure` compares with), used as it is. */
    readonly project?: string;
}

export class ProgramProject {
    private constructor(
        /** The scratch project: the program's files, `node_modules` linked. */
        readonly dir: string,
        /** PULUMI_HOME's parent, the file backend and the CA live here. */
        readonly home: string,
        readonly env: NodeJS.ProcessEnv,
        private readonly ownsHome: boolean,
    ) {}

    static create(binaries: RigBinaries, options: ProgramProjectOptions): ProgramProject {
        const dir = options.project ?? fs.mkdtempSync(path.join(options.example?.under ?? os.tmpdir(), "aks-acr-program-"));
        if (options.project !== undefined) {
            // used as it is
        } else if (options.example !== undefined) {
            for (const file of fs.readdirSync(options.example.dir)) {
                fs.cpSync(path.join(options.example.dir, file), path.join(dir, file), { recursive: true });
            }
        } else if (options.commit === undefined) {
            for (const file of PROGRAM_FILES) {
                fs.cpSync(path.join(ROOT, file), path.join(dir, file), { recursive: true });
            }
        } else {
            const archive = execFileSync("git", ["archive", "--format=tar", options.commit, ...PROGRAM_FILES], {
                cwd: ROOT,
                maxBuffer: 64 << 20,
            });
            execFileSync("tar", ["-x", "-C", dir], { input: archive });
        }
        if (options.example === undefined && options.project === undefined)
            fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");

        const home = options.home ?? fs.mkdtempSync(path.join(os.tmpdir(), "aks-acr-program-home-"));
        const pulumiHome = path.join(home, ".pulumi");
        const backend = path.join(home, "state");
        if (!fs.existsSync(backend)) {
            fs.mkdirSync(backend, { recursive: true });
            installTwinPlugins(pulumiHome);
            execFileSync(
                path.join(binaries.pulumiBinDir, "pulumi"),
                ["plugin", "install", "resource", "kubernetes", binaries.kubernetesPluginVersion, "--file", binaries.kubernetesPlugin],
                { env: { ...process.env, PULUMI_HOME: pulumiHome, PULUMI_SKIP_UPDATE_CHECK: "true" }, stdio: "pipe" },
            );
        }
        // Nothing of the machine's Azure or Kubernetes sign-in may reach the program: only what the test gives.
        const ambient = Object.fromEntries(
            Object.entries(process.env).filter(
                ([key]) => !/^(ARM_|AZURE_|PULUMI_|KUBECONFIG$|HTTPS?_PROXY$|NO_PROXY$|NODE_OPTIONS$)/i.test(key),
            ),
        );
        const env: NodeJS.ProcessEnv = {
            ...ambient,
            PATH: [binaries.pulumiBinDir, path.dirname(process.execPath), process.env.PATH ?? ""].join(path.delimiter),
            HOME: home,
            PULUMI_HOME: pulumiHome,
            PULUMI_BACKEND_URL: `file://${backend}`,
            PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_SKIP_CONFIRMATIONS: "true",
            PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
            KUBECONFIG: path.join(home, "no-such-kubeconfig"),
            NO_COLOR: "1",
            // Enables `--event-log`, the engine's ordered record of a run's steps (tests/cluster/engineEvents.ts).
            PULUMI_DEBUG_COMMANDS: "true",
            // The program's clock follows the twin's (tests/twin/clock.ts); no other process is shifted.
            NODE_OPTIONS: `--require ${path.join(ROOT, "bin", "tests", "twin", "clock.js")}`,
            ...options.twinEnv,
        };
        return new ProgramProject(dir, home, env, options.home === undefined);
    }

    /** Runs `command args...` in the project with the engine's environment, whatever its exit code. */
    exec(
        command: string,
        args: readonly string[],
        options: { readonly input?: string; readonly env?: NodeJS.ProcessEnv } = {},
    ): Promise<PulumiResult> {
        return new Promise((resolve, reject) => {
            const child = execFile(
                command,
                [...args],
                {
                    cwd: this.dir,
                    env: { ...this.env, ...options.env },
                    timeout: COMMAND_TIMEOUT_MS,
                    maxBuffer: 64 * 1024 * 1024,
                    encoding: "utf8",
                },
                (error, stdout, stderr) => {
                    const exitCode = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
                    if (error !== null && exitCode === -1) {
                        reject(
                            new Error(`${command} ${args.join(" ")} did not run to an exit code: ${error.message}\n${stdout}\n${stderr}`),
                        );
                        return;
                    }
                    resolve({ exitCode, stdout, stderr, output: `${stdout}\n${stderr}` });
                },
            );
            child.stdin?.end(options.input);
        });
    }

    run(args: readonly string[], input?: string, env?: NodeJS.ProcessEnv): Promise<PulumiResult> {
        return this.exec("pulumi", args, { input, env });
    }

    async expectSuccess(args: readonly string[], input?: string, env?: NodeJS.ProcessEnv): Promise<PulumiResult> {
        const result = await this.run(args, input, env);
        if (result.exitCode !== 0) throw new PulumiCommandError(args, result, "should succeed");
        return result;
    }

    async expectFailure(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<PulumiResult> {
        const result = await this.run(args, undefined, env);
        if (result.exitCode === 0) throw new PulumiCommandError(args, result, "should fail");
        return result;
    }

    /**
     * Writes `Pulumi.<stack>.yaml` as docs/configuration.md shows it: every key under the project's namespace, lists
     * as YAML lists. Secrets are not written here: `setSecret` sets them as the docs say, through the CLI.
     */
    writeStackFile(stack: string, config: Readonly<Record<string, unknown>>): void {
        const file = path.join(this.dir, `Pulumi.${stack}.yaml`);
        const existing = fs.existsSync(file) ? ((YAML.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown> | null) ?? {}) : {};
        const values = Object.fromEntries(Object.entries(config).map(([key, value]) => [`${PROJECT}:${key}`, value]));
        const current = (existing.config as Record<string, unknown> | undefined) ?? {};
        fs.writeFileSync(file, YAML.stringify({ ...existing, config: { ...current, ...values } }));
    }

    /** Removes keys from the stack file. */
    removeStackKeys(stack: string, keys: readonly string[]): void {
        const file = path.join(this.dir, `Pulumi.${stack}.yaml`);
        const existing = YAML.parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
        for (const key of keys) delete existing.config[`${PROJECT}:${key}`];
        fs.writeFileSync(file, YAML.stringify(existing));
    }

    /** `pulumi config set --secret <key>` with the value on stdin, as docs/configuration.md tells. */
    async setSecret(stack: string, key: string, value: string): Promise<void> {
        await this.expectSuccess(["config", "set", "--secret", "--stack", stack, `${PROJECT}:${key}`], value);
    }

    /** Creates a stack as a user would: its stack file, `pulumi stack init`, then each secret through the CLI. */
    async initStack(
        stack: string,
        config: Readonly<Record<string, unknown>>,
        secrets: Readonly<Record<string, string>> = {},
    ): Promise<void> {
        this.writeStackFile(stack, config);
        await this.expectSuccess(["stack", "init", stack]);
        for (const [key, value] of Object.entries(secrets)) await this.setSecret(stack, key, value);
    }

    /** `npm run up -- <stack> <flags>`, the README's main command. */
    npmUp(stack: string, ...flags: string[]): Promise<PulumiResult> {
        return this.exec("npm", ["run", "--silent", "up", "--", stack, ...flags]);
    }

    preview(stack: string, ...extra: string[]): Promise<PulumiResult> {
        return this.expectSuccess(["preview", "--stack", stack, "--non-interactive", "--diff", ...extra]);
    }

    up(stack: string, ...extra: string[]): Promise<PulumiResult> {
        return this.expectSuccess(["up", "--stack", stack, "--non-interactive", "--yes", ...extra]);
    }

    refresh(stack: string, ...extra: string[]): Promise<PulumiResult> {
        return this.expectSuccess(["refresh", "--stack", stack, "--non-interactive", "--yes", ...extra]);
    }

    destroy(stack: string, ...extra: string[]): Promise<PulumiResult> {
        return this.expectSuccess(["destroy", "--stack", stack, "--non-interactive", "--yes", ...extra]);
    }

    /** The stack's outputs, secrets shown. */
    async outputs(stack: string): Promise<Record<string, unknown>> {
        const result = await this.expectSuccess(["stack", "output", "--stack", stack, "--json", "--show-secrets"]);
        return JSON.parse(result.stdout) as Record<string, unknown>;
    }

    /** The stack's state as `pulumi stack export` writes it (secrets stay encrypted). */
    async state(stack: string): Promise<StateExport> {
        const result = await this.expectSuccess(["stack", "export", "--stack", stack]);
        return JSON.parse(result.stdout) as StateExport;
    }

    /** The URN of the one resource of `type` whose name ends with `nameSuffix`. */
    async urn(stack: string, type: string, nameSuffix: string): Promise<string> {
        const found = ((await this.state(stack)).deployment.resources ?? []).filter((r) => r.type === type && r.urn.endsWith(nameSuffix));
        if (found.length !== 1) throw new Error(`expected one ${type} named *${nameSuffix}, found ${found.length}`);
        return found[0].urn;
    }

    /**
     * The policy pack as an analyzer executable. The engine runs a policy pack directory through its language host's
     * `RunPlugin`, which the rig's host (v3.68, the newest the module proxy serves) answers with "not supported"; an
     * executable given to `--policy-pack` is started directly, so this one starts the SDK's own policy-pack runner
     * (`@pulumi/pulumi/cmd/run-policy-pack`, what `pulumi-analyzer-policy` ran) on the project's `policy/`.
     */
    policyPackExecutable(): string {
        const file = path.join(this.home, "policy-pack-analyzer");
        const runner = path.join(this.dir, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");
        fs.writeFileSync(file, `#!/bin/sh\nexec "${process.execPath}" "${runner}" "$1" "${path.join(this.dir, "policy")}"\n`, {
            mode: 0o755,
        });
        return file;
    }

    /** Copies this project's stack file into `other`, as a user's checkout of a newer version keeps it. */
    copyStackFile(stack: string, other: ProgramProject): void {
        fs.copyFileSync(path.join(this.dir, `Pulumi.${stack}.yaml`), path.join(other.dir, `Pulumi.${stack}.yaml`));
    }

    dispose(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
        if (this.ownsHome) fs.rmSync(this.home, { recursive: true, force: true });
    }
}

export interface StateExport {
    readonly deployment: {
        readonly resources?: readonly {
            readonly urn: string;
            readonly type: string;
            readonly id?: string;
            readonly inputs?: Record<string, unknown>;
            readonly outputs?: Record<string, unknown>;
        }[];
    };
}

/** The counts of a run's summary (`+ 3 created`, `~ 1 updated`, `1 unchanged`, ...), as the CLI prints them. */
export function summary(output: string): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const match of output.matchAll(
        /^\s*[-+~±]*\s*(\d+) (to create|to update|to delete|to replace|created|updated|deleted|replaced|unchanged|create replacement|to create replacement)\b/gm,
    )) {
        counts[match[2]] = Number(match[1]);
    }
    return counts;
}
