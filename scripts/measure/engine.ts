/**
 * Start-up and run times under the real engine (part 4 of `npm run measure`): the rig's `pulumi` runs the program
 * from `index.ts` through the language host's ts-node, and the flat program (programs.ts) beside it, against the
 * same Azure twin (tests/twin/), with the same stack config. For each: a cold `preview` (a fresh project, so
 * ts-node's cache is empty), `up`, warm no-change previews (median) and `destroy`. Then `up` and a no-change preview
 * of the program with the other deliveries (`none`; `imagePullSecret` against the rig's API server).
 *
 *   npm run measure -- --engine [--quick]     (also part of a full `npm run measure`)
 */
import * as fs from "node:fs";
import { writeFlatProject } from "./programs";
import { rigBinaries, startRig } from "../../tests/cluster/rig";
import { ProgramProject } from "../../tests/cluster/program";
import {
    deployerSecrets,
    programStackConfig,
    seedManagedIdentityCluster,
    seedServicePrincipalCluster,
    startTwinWorld,
    TENANT_A,
    type TwinWorld,
} from "../../tests/cluster/twinWorld";
import { seedDeployer } from "../../tests/twin/store";

/** Milliseconds `work` took. */
async function timed(work: () => Promise<unknown>): Promise<number> {
    const started = process.hrtime.bigint();
    await work();
    return Math.round(Number(process.hrtime.bigint() - started) / 1e6);
}

function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
}

interface RunTimes {
    readonly coldPreview: number;
    readonly up: number;
    readonly warmPreview: number;
    readonly destroy: number;
}

/** One stack's life, timed: cold preview, up, `samples` no-change previews, destroy. */
async function life(project: ProgramProject, stack: string, samples: number): Promise<RunTimes> {
    const coldPreview = await timed(() => project.preview(stack));
    const up = await timed(() => project.up(stack, "--skip-preview"));
    const warm: number[] = [];
    for (let i = 0; i < samples; i++) warm.push(await timed(() => project.preview(stack, "--expect-no-changes")));
    const destroy = await timed(() => project.destroy(stack, "--skip-preview"));
    return { coldPreview, up, warmPreview: median(warm), destroy };
}

/** A cluster that runs as a principal of its own, as the program's stacks start. */
function seedOriginalCluster(world: TwinWorld, name: string): void {
    seedServicePrincipalCluster(world, name, seedDeployer(world.store, TENANT_A, `${name}-original-principal`));
}

/** The engine table, as markdown, for docs/performance.md. */
export async function engineTable(quick: boolean): Promise<string> {
    const samples = quick ? 1 : 3;
    const binaries = rigBinaries();
    // No replication delay: the binding would wait out Entra for its first retry interval, which measures the twin.
    const world = await startTwinWorld({ replicationDelayMs: 0 });
    const rig = await startRig();
    const projects: ProgramProject[] = [];
    try {
        seedOriginalCluster(world, "aks-measure");
        seedOriginalCluster(world, "aks-measure-flat");
        const program = ProgramProject.create(binaries, { twinEnv: world.env() });
        const flat = ProgramProject.create(binaries, { twinEnv: world.env(), project: writeFlatProject() });
        projects.push(program, flat);
        // `leave`: the default delete policy refuses to destroy (docs/cluster-service-principal.md).
        await program.initStack(
            "measure",
            { ...programStackConfig(world, "aks-measure"), clusterDeletePolicy: "leave" },
            deployerSecrets(world),
        );
        await flat.initStack("measure", programStackConfig(world, "aks-measure-flat"), deployerSecrets(world));
        // Alternating, so a slow moment of the machine falls on both.
        const flatTimes = await life(flat, "measure", samples);
        const programTimes = await life(program, "measure", samples);

        await program.initStack(
            "none",
            { ...programStackConfig(world, "aks-measure-none"), credentialDelivery: "none" },
            deployerSecrets(world),
        );
        const none = await life(program, "none", samples);

        seedManagedIdentityCluster(world, "aks-measure-mi", rig.kubeconfig());
        await rig.admin.create("/api/v1/namespaces", { metadata: { name: "measure" } });
        for (let tries = 0; (await rig.admin.get("/api/v1/namespaces/measure/serviceaccounts/default")).status !== 200; tries++) {
            if (tries > 200) throw new Error("namespace measure never got its default service account");
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        await program.initStack(
            "pullsecret",
            { ...programStackConfig(world, "aks-measure-mi"), credentialDelivery: "imagePullSecret", pullSecretNamespaces: ["measure"] },
            deployerSecrets(world),
        );
        const pullSecret = await life(program, "pullsecret", samples);

        const row = (what: string, p: number, f?: number): string =>
            `| ${what} | ${p} | ${f ?? ""} | ${f === undefined ? "" : (p / f).toFixed(2)} |`;
        return [
            `Under the engine (rig pulumi, language host ts-node on index.ts, the Azure twin), ms per command; warm previews: median of ${samples}:`,
            "",
            "| clusterServicePrincipal | program | flat program | ratio |",
            "|---|---|---|---|",
            row("cold `preview` (fresh project)", programTimes.coldPreview, flatTimes.coldPreview),
            row("`up` (create everything)", programTimes.up, flatTimes.up),
            row("warm no-change `preview`", programTimes.warmPreview, flatTimes.warmPreview),
            row("`destroy`", programTimes.destroy, flatTimes.destroy),
            "",
            "| the program (same project, so ts-node's cache is warm) with | first `preview` of the stack | `up` | warm no-change `preview` | `destroy` |",
            "|---|---|---|---|---|",
            `| \`none\` | ${none.coldPreview} | ${none.up} | ${none.warmPreview} | ${none.destroy} |`,
            `| \`imagePullSecret\` (1 namespace) | ${pullSecret.coldPreview} | ${pullSecret.up} | ${pullSecret.warmPreview} | ${pullSecret.destroy} |`,
        ].join("\n");
    } finally {
        for (const project of projects) {
            const dir = project.dir;
            project.dispose();
            fs.rmSync(dir, { recursive: true, force: true });
        }
        await world.stop();
        await rig.stop();
    }
}
