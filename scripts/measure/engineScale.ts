/**
 * The image pull secret delivery at scale under the real engine: the rig's API server, controller manager, Pulumi CLI
 * and Kubernetes plugin (tests/cluster/rig), the test stack `pullSecret` (the library's delivery, with a stand-in for
 * the grant), at 25, 50 and 100 namespaces with 3 service accounts each (`default`, `builder`, `deployer`). For each
 * size, the current graph (Secrets, one `ServiceAccountPullSecret` per service account and the one provider they share)
 * and the earlier one (the same Secrets and a server-side-apply `ServiceAccountPatch` per service account,
 * `formerDelivery`), each on a fresh stack: `up`, a no-change `preview`, `destroy`, wall-clock time of the CLI, and the
 * size of the checkpoint after `up`. Checkpoints stay on (the engine rewrites the state file after every step), as
 * users keep them. Sizes and graphs alternate, so the machine's noise falls on both.
 *
 *   npm run measure                                   (last, after the other tables)
 *   npm run measure -- --engine-scale                 (this table alone)
 *   node bin/scripts/measure/engineScale.js [--sizes 25,50,100] [--runs 1] [--json out.json]
 */
import * as fs from "node:fs";
import { type Rig, startRig, waitFor } from "../../tests/cluster/rig";
import { PulumiWorkspace } from "../../tests/cluster/pulumi";

export const ENGINE_SIZES = [25, 50, 100] as const;
const SERVICE_ACCOUNTS = ["default", "builder", "deployer"] as const;
/** What the issue holds the current graph to, against the earlier one at 100 x 3. */
export const TIME_BUDGET = 1.5;
export const STATE_BUDGET = 3;

type Graph = "current" | "earlier";

/** One graph at one size. */
export interface EngineSample {
    readonly graph: Graph;
    readonly namespaces: number;
    readonly upMs: number;
    readonly previewMs: number;
    readonly destroyMs: number;
    readonly checkpointBytes: number;
    /** Resources in the state after `up`. */
    readonly resources: number;
}

function namespaceName(index: number): string {
    return `scale-${String(index).padStart(3, "0")}`;
}

/** Creates `count` namespaces, each with its `default` service account (the controller's) and two more. */
async function createNamespaces(rig: Rig, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
        const namespace = namespaceName(i);
        await rig.admin.create("/api/v1/namespaces", { metadata: { name: namespace } });
        for (const account of SERVICE_ACCOUNTS.slice(1)) {
            await rig.admin.create(`/api/v1/namespaces/${namespace}/serviceaccounts`, { metadata: { name: account } });
        }
    }
    for (let i = 0; i < count; i++) {
        const path = `/api/v1/namespaces/${namespaceName(i)}/serviceaccounts/default`;
        await waitFor(path, 60_000, async () => ((await rig.admin.get(path)).status === 200 ? true : undefined));
    }
}

async function timed(action: () => Promise<unknown>): Promise<number> {
    const started = performance.now();
    await action();
    return performance.now() - started;
}

/** One fresh stack of `graph` over the first `count` namespaces: up, no-change preview, destroy. */
async function sample(rig: Rig, graph: Graph, count: number): Promise<EngineSample> {
    const workspace = await PulumiWorkspace.create(rig.binaries, "pullSecret");
    try {
        await workspace.setAllConfig(
            {
                kubeconfig: rig.kubeconfig(),
                clientId: "cccccccc-4444-4444-8444-4444444444c1",
                clientSecret: "first~Secret.value_1",
                loginServers: ["teamregistry.azurecr.io", "sharedregistry.azurecr.io"],
                namespaces: Array.from({ length: count }, (_, i) => namespaceName(i)),
                serviceAccounts: [...SERVICE_ACCOUNTS],
                formerDelivery: graph === "earlier",
            },
            ["kubeconfig", "clientSecret"],
        );
        const upMs = await timed(() => workspace.up());
        const checkpointBytes = workspace.checkpointBytes();
        const resources = (await workspace.state()).deployment.resources?.length ?? 0;
        const previewMs = await timed(async () => {
            const result = await workspace.expectSuccess(["preview", "--stack", workspace.stack, "--non-interactive"]);
            if (/\d+ to (create|update|delete|replace)/.test(result.output)) {
                throw new Error(`the no-change preview of the ${graph} graph announced changes:\n${result.output}`);
            }
        });
        const destroyMs = await timed(() => workspace.destroy());
        return { graph, namespaces: count, upMs, previewMs, destroyMs, checkpointBytes, resources };
    } finally {
        workspace.dispose();
    }
}

/** Samples both graphs at every size, alternating. */
export async function measureEngineScale(sizes: readonly number[], runs: number, log: (line: string) => void): Promise<EngineSample[]> {
    const rig = await startRig();
    try {
        await createNamespaces(rig, Math.max(...sizes));
        const samples: EngineSample[] = [];
        for (let run = 0; run < runs; run++) {
            for (const count of sizes) {
                for (const graph of ["earlier", "current"] as const) {
                    const taken = await sample(rig, graph, count);
                    log(`  ${graph} ${count} x ${SERVICE_ACCOUNTS.length}: ${JSON.stringify(taken)}`);
                    samples.push(taken);
                }
            }
        }
        return samples;
    } finally {
        await rig.stop();
    }
}

function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The table `npm run measure` prints, and docs/performance.md shows. */
export function engineScaleTable(samples: readonly EngineSample[]): string[] {
    const sizes = [...new Set(samples.map((s) => s.namespaces))].sort((a, b) => a - b);
    const pick = (graph: Graph, count: number): EngineSample[] => samples.filter((s) => s.graph === graph && s.namespaces === count);
    const seconds = (ms: number): string => (ms / 1000).toFixed(1);
    const lines = [
        `Image pull secret delivery under the real engine (rig, checkpoints on), ${SERVICE_ACCOUNTS.length} service accounts per namespace, median of ${Math.max(...sizes.map((n) => pick("current", n).length))}:`,
        "| namespaces | graph | resources | up (s) | no-change preview (s) | destroy (s) | checkpoint (MB) |",
        "|---|---|---|---|---|---|---|",
    ];
    for (const count of sizes) {
        for (const graph of ["current", "earlier"] as const) {
            const taken = pick(graph, count);
            if (taken.length === 0) continue;
            lines.push(
                `| ${count} | ${graph === "current" ? "`ServiceAccountPullSecret` (now)" : "`ServiceAccountPatch` (before)"} | ${taken[0].resources} | ` +
                    `${seconds(median(taken.map((s) => s.upMs)))} | ${seconds(median(taken.map((s) => s.previewMs)))} | ` +
                    `${seconds(median(taken.map((s) => s.destroyMs)))} | ${(median(taken.map((s) => s.checkpointBytes)) / 1e6).toFixed(2)} |`,
            );
        }
    }
    const largest = sizes[sizes.length - 1];
    const now = pick("current", largest);
    const before = pick("earlier", largest);
    if (now.length > 0 && before.length > 0) {
        const ratio = (key: "upMs" | "previewMs" | "destroyMs" | "checkpointBytes"): string =>
            (median(now.map((s) => s[key])) / median(before.map((s) => s[key]))).toFixed(2);
        lines.push(
            `At ${largest} namespaces, now / before: up ${ratio("upMs")}, preview ${ratio("previewMs")}, destroy ${ratio("destroyMs")} ` +
                `(budget ${TIME_BUDGET}), checkpoint ${ratio("checkpointBytes")} (budget ${STATE_BUDGET}).`,
        );
    }
    const smallest = sizes[0];
    if (smallest !== largest && pick("current", smallest).length > 0) {
        const growth = (key: "upMs" | "checkpointBytes"): string =>
            (median(pick("current", largest).map((s) => s[key])) / median(pick("current", smallest).map((s) => s[key]))).toFixed(2);
        lines.push(
            `From ${smallest} to ${largest} namespaces (x${(largest / smallest).toFixed(0)}), the current graph's up grows x${growth("upMs")} and its checkpoint x${growth("checkpointBytes")}.`,
        );
    }
    return lines;
}

/** Measures both graphs at every size once, on a rig of its own, and returns the table. */
export async function engineScaleReport(): Promise<string[]> {
    return engineScaleTable(await measureEngineScale(ENGINE_SIZES, 1, (line) => console.error(line)));
}

if (require.main === module) {
    const args = process.argv.slice(2);
    const option = (name: string): string | undefined => {
        const at = args.indexOf(name);
        return at >= 0 ? args[at + 1] : undefined;
    };
    const sizes = (option("--sizes") ?? ENGINE_SIZES.join(",")).split(",").map(Number);
    const runs = Number(option("--runs") ?? "1");
    measureEngineScale(sizes, runs, (line) => console.error(line))
        .then((samples) => {
            const out = option("--json");
            if (out !== undefined) fs.writeFileSync(out, JSON.stringify(samples, null, 2));
            console.log(engineScaleTable(samples).join("\n"));
        })
        .catch((error: unknown) => {
            console.error(error);
            process.exit(1);
        });
}
