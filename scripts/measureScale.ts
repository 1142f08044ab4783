/**
 * What the image pull secret delivery costs per namespace and service account: 100 namespaces with 3 service
 * accounts each, declared under the Pulumi runtime mocks in a fresh Node process per sample, with the references
 * this product declares (`ServiceAccountPullSecret`) and, side by side, with the server-side-apply
 * `ServiceAccountPatch` earlier versions declared. Both graphs read every namespace and service account and declare
 * one Secret per namespace: the references' delivery reads them itself, through its kubeconfig, from a fake API
 * server on 127.0.0.1 in the same process (tests/fakeDiscovery.ts), the patches' graph with `.get` reads the mocks
 * answer. Times run from the first require() until every resource is registered. What the engine does with either
 * graph is measured on the rig by scripts/measure/engineScale.ts.
 *
 *   node bin/scripts/measureScale.js [--quick]     (run by `npm run measure` too)
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";

type ScaleMode = "references" | "patches";

const BIN = path.resolve(__dirname, "..");
const ROOT = path.resolve(BIN, "..");
export const SCALE_NAMESPACES = 100;
export const SCALE_SERVICE_ACCOUNTS = ["default", "builder", "deployer"] as const;
/** What the issue holds the delivery to: at most this much slower than the patches it replaced. */
export const SCALE_BUDGET = 1.25;

/**
 * One sample (`--child <references|patches> [namespaces]`): declares the delivery's graph in this process and prints
 * what it took as JSON.
 */
async function child(mode: ScaleMode, namespaceCount: number): Promise<void> {
    const started = process.hrtime.bigint();
    /* eslint-disable @typescript-eslint/no-require-imports */
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    let registered = 0;
    let providerChars = 0;
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                registered++;
                const inputs = args.inputs as Record<string, unknown>;
                if (typeof inputs.__provider === "string") providerChars += inputs.__provider.length;
                // A read keeps its id and comes back as a live object would, with its metadata.
                return args.id
                    ? { id: args.id, state: { metadata: { name: args.id.split("/").pop(), managedFields: [] } } }
                    : { id: `${args.name}-id`, state: inputs };
            },
            call: (args) => args.inputs as Record<string, unknown>,
        },
        "aks-acr-cross-tenant",
        "scale",
        false,
    );
    const namespaces = Array.from({ length: namespaceCount }, (_, i) => `team-${String(i).padStart(3, "0")}`);
    const credentials = { clientId: pulumi.output("00000000-0000-4000-8000-000000000002"), secret: pulumi.secret("s") };
    const loginServers = ["teamregistry.azurecr.io", "sharedregistry.azurecr.io"];
    // The cluster the references' delivery reads: every namespace and service account, each with no list.
    const fake = require(path.join(BIN, "tests", "fakeDiscovery.js")) as typeof import("../tests/fakeDiscovery");
    const objects = new Map<string, Record<string, unknown>>();
    for (const namespace of namespaces) {
        objects.set(namespace, { metadata: { name: namespace } });
        for (const account of SCALE_SERVICE_ACCOUNTS) objects.set(`${namespace}/${account}`, { metadata: { name: account, namespace } });
    }
    fake.kubernetesStore.objects = objects;
    const api = mode === "references" ? await fake.startFakeDiscovery() : undefined;
    const { clusterConnection } = require(
        path.join(BIN, "components", "pullSecretTarget", "kubernetesProvider.js"),
    ) as typeof import("../components/pullSecretTarget/kubernetesProvider");
    const cluster = clusterConnection("cluster", {
        subscriptionId: "cccccccc-0000-4000-8000-00000000000c",
        resourceGroupName: "rg",
        clusterName: "aks",
        kubeconfig: api?.kubeconfig() ?? "apiVersion: v1\nkind: Config\n",
    });
    const parent = new pulumi.ComponentResource("aks-acr-cross-tenant:measure:Scale", "scale");
    const waitFor: import("@pulumi/pulumi").Output<unknown>[] = [];
    if (mode === "references") {
        const delivery = require(
            path.join(BIN, "components", "deliveries", "imagePullSecret", "declare.js"),
        ) as typeof import("../components/deliveries/imagePullSecret/declare");
        const targets = delivery.checkPullSecretTargets(
            "pull",
            { ...cluster, namespaces, serviceAccounts: [...SCALE_SERVICE_ACCOUNTS] },
            "acr-cross-tenant-pull",
            [...SCALE_SERVICE_ACCOUNTS],
            parent,
        );
        const declared = delivery.deliverPullSecret("pull", targets, { ...credentials, loginServers }, { parent, dependsOn: [] });
        waitFor.push(targets.ready, ...declared.secrets.map((secret) => secret.urn));
    } else {
        // The graph earlier versions declared: the same reads and Secrets, a ServiceAccountPatch per account, and
        // the same wait of every patch for every target's check (the list each read found).
        const core = require("@pulumi/kubernetes/core/v1") as typeof import("@pulumi/kubernetes/core/v1");
        const { dockerConfigJson } = require(
            path.join(BIN, "components", "deliveries", "imagePullSecret", "dockerConfig.js"),
        ) as typeof import("../components/deliveries/imagePullSecret/dockerConfig");
        const document = credentials.secret.apply((secret) => Buffer.from(dockerConfigJson(loginServers, "id", secret)).toString("base64"));
        const checks: import("@pulumi/pulumi").Output<unknown>[] = [];
        const planned: {
            namespace: string;
            secret: import("@pulumi/kubernetes/core/v1").Secret;
            reads: import("@pulumi/kubernetes/core/v1").ServiceAccount[];
        }[] = [];
        for (const namespace of namespaces) {
            const read = core.Namespace.get(`pull-${namespace}-namespace`, namespace, { parent, provider: cluster.provider });
            checks.push(read.id);
            const secret = new core.Secret(
                `pull-${namespace}-pull-secret`,
                {
                    metadata: { name: "acr-cross-tenant-pull", namespace },
                    type: "kubernetes.io/dockerconfigjson",
                    data: { ".dockerconfigjson": document },
                },
                { parent, provider: cluster.provider, dependsOn: [read] },
            );
            const reads = SCALE_SERVICE_ACCOUNTS.map((account) => {
                const accountRead = core.ServiceAccount.get(`pull-${namespace}-${account}-service-account`, `${namespace}/${account}`, {
                    parent,
                    provider: cluster.provider,
                });
                checks.push(accountRead.imagePullSecrets.apply((live) => live?.length ?? 0));
                return accountRead;
            });
            planned.push({ namespace, secret, reads });
        }
        const ready = pulumi.all(checks);
        for (const { namespace, secret, reads } of planned) {
            SCALE_SERVICE_ACCOUNTS.forEach((account, index) => {
                const patch = new core.ServiceAccountPatch(
                    `pull-${namespace}-${account}-image-pull-secret`,
                    { metadata: { name: account, namespace }, imagePullSecrets: ready.apply(() => [{ name: "acr-cross-tenant-pull" }]) },
                    { parent, provider: cluster.provider, dependsOn: [secret, reads[index]] },
                );
                waitFor.push(patch.urn);
            });
        }
    }
    /* eslint-enable @typescript-eslint/no-require-imports */
    await new Promise<void>((resolve) => pulumi.all(waitFor).apply(() => resolve()));
    // Let every registration the graph started reach the mocks.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    process.stdout.write(JSON.stringify({ ms, registered, providerChars }));
}

interface ScaleSample {
    readonly ms: number;
    readonly registered: number;
    readonly providerChars: number;
}

function sample(mode: ScaleMode): ScaleSample {
    return JSON.parse(execFileSync(process.execPath, [__filename, "--child", mode], { cwd: ROOT, encoding: "utf8" })) as ScaleSample;
}

function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
}

/** Samples both graphs, interleaved so that machine noise falls on both, and returns their medians and ratio. */
export function measureScale(samples: number): { readonly references: ScaleSample; readonly patches: ScaleSample; readonly ratio: number } {
    const taken: Record<ScaleMode, ScaleSample[]> = { references: [], patches: [] };
    for (let i = 0; i < samples; i++) {
        for (const mode of ["patches", "references"] as const) taken[mode].push(sample(mode));
    }
    const summary = (mode: ScaleMode): ScaleSample => ({
        ms: median(taken[mode].map((s) => s.ms)),
        registered: taken[mode][0].registered,
        providerChars: taken[mode][0].providerChars,
    });
    const references = summary("references");
    const patches = summary("patches");
    return { references, patches, ratio: references.ms / patches.ms };
}

/** The report `npm run measure` prints. */
export function scaleTable(quick: boolean): string[] {
    const samples = quick ? 3 : 7;
    const { references, patches, ratio } = measureScale(samples);
    const accounts = SCALE_NAMESPACES * SCALE_SERVICE_ACCOUNTS.length;
    const row = (label: string, s: ScaleSample): string =>
        `  ${label.padEnd(28)} ${s.ms.toFixed(0).padStart(6)} ms  ${String(s.registered).padStart(5)} registrations  ` +
        `${(s.providerChars / 1e6).toFixed(1).padStart(5)} MB of provider text`;
    return [
        `Image pull secret delivery at scale: ${SCALE_NAMESPACES} namespaces x ${SCALE_SERVICE_ACCOUNTS.length} service accounts, under the runtime mocks, median of ${samples}:`,
        row("ServiceAccountPullSecret", references),
        row("ServiceAccountPatch (before)", patches),
        `  ratio ${ratio.toFixed(2)} (budget ${SCALE_BUDGET.toFixed(2)}); ${((references.ms - patches.ms) / accounts).toFixed(2)} ms more per service account`,
    ];
}

// Run as a script (a sample, or the table alone); imported by measureStartup.ts for `npm run measure`.
if (require.main === module) {
    if (process.argv[2] === "--child") {
        child(process.argv[3] as ScaleMode, Number(process.argv[4] ?? SCALE_NAMESPACES)).catch((error: unknown) => {
            console.error(error);
            process.exit(1);
        });
    } else {
        console.log(scaleTable(process.argv.includes("--quick")).join("\n"));
    }
}
