/**
 * Measures what evaluating the program costs, against two bars: loading @pulumi/pulumi alone, and a flat
 * program that declares the same resources with no component, validation or helpers.
 *
 *   npm run build && node bin/scripts/measureStartup.js [registries...]
 *
 * Each sample is a fresh Node process (module loading is what start-up pays), run under the Pulumi runtime mocks
 * so no engine is needed; the time covers require() of the program until every resource is registered.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";

type Mode = "pulumi-only" | "flat" | "program";

const NS = "aks-acr-cross-tenant";
const TENANT_A = "aaaaaaaa-0000-4000-8000-00000000000a";
const TENANT_B = "bbbbbbbb-0000-4000-8000-00000000000b";
const SUB = "cccccccc-0000-4000-8000-00000000000c";
/** The compiled tree (bin/); the program is bin/index.js. */
const BIN = path.resolve(__dirname, "..");
const ROOT = path.resolve(BIN, "..");

function registryIds(count: number): string[] {
    return Array.from(
        { length: count },
        (_, i) =>
            `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/registry${String(i).padStart(4, "0")}`,
    );
}

async function child(mode: Mode, count: number): Promise<void> {
    const started = process.hrtime.bigint();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    let registered = 0;
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                registered++;
                if (args.type === "pulumi:pulumi:StackReference") {
                    return { id: args.name, state: { name: String((args.inputs as { name?: unknown }).name), outputs: {} } };
                }
                return {
                    id: `${args.name}-id`,
                    state: {
                        ...(args.inputs as Record<string, unknown>),
                        objectId: "00000000-0000-4000-8000-000000000001",
                        clientId: "00000000-0000-4000-8000-000000000002",
                        value: "x",
                    },
                };
            },
            call: () => ({}),
        },
        NS,
        "bench",
        false,
        "organization",
    );
    const ids = registryIds(count);
    let outputs: unknown[] = [];
    if (mode === "program") {
        pulumi.runtime.setAllConfig({
            [`${NS}:clusterTenantId`]: TENANT_A,
            [`${NS}:clusterSubscriptionId`]: SUB,
            [`${NS}:clusterResourceGroup`]: "rg",
            [`${NS}:clusterName`]: "aks",
            [`${NS}:registryTenantId`]: TENANT_B,
            [`${NS}:registryIds`]: JSON.stringify(ids),
        });
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        outputs = Object.values(require(path.join(BIN, "index.js")) as Record<string, unknown>);
    } else if (mode === "flat") {
        /* eslint-disable @typescript-eslint/no-require-imports */
        const azuread = require("@pulumi/azuread") as typeof import("@pulumi/azuread");
        const { Provider } = require("@pulumi/azure-native/provider") as typeof import("@pulumi/azure-native/provider");
        const { RoleAssignment } = require("@pulumi/azure-native/authorization") as typeof import("@pulumi/azure-native/authorization");
        /* eslint-enable @typescript-eslint/no-require-imports */
        new pulumi.StackReference("deployed", { name: `organization/${NS}/bench` });
        const adA = new azuread.Provider("a", { tenantId: TENANT_A });
        new Provider("an", { tenantId: TENANT_A, subscriptionId: SUB });
        const adB = new azuread.Provider("b", { tenantId: TENANT_B });
        const nB = new Provider("bn", { tenantId: TENANT_B, subscriptionId: SUB });
        const app = new azuread.Application("app", { displayName: "aks", signInAudience: "AzureADMultipleOrgs" }, { provider: adA });
        new azuread.ServicePrincipal("sp-a", { clientId: app.clientId }, { provider: adA });
        const password = new azuread.ApplicationPassword(
            "pw",
            { applicationId: app.id, endDate: "2027-01-01T00:00:00Z" },
            { provider: adA },
        );
        const sp = new azuread.ServicePrincipal("sp-b", { clientId: app.clientId }, { provider: adB });
        const assignments = ids.map(
            (id, i) =>
                new RoleAssignment(
                    `ra-${i}`,
                    {
                        scope: id,
                        roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d`,
                        principalId: sp.objectId,
                        principalType: "ServicePrincipal",
                    },
                    { provider: nB },
                ),
        );
        // The switch of the existing cluster is a dynamic resource: the flat program declares it too.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { ClusterCredentialBinding } = require(
            path.join(BIN, "components", "clusterBinding.js"),
        ) as typeof import("../components/clusterBinding");
        const binding = new ClusterCredentialBinding(
            "binding",
            {
                subscriptionId: SUB,
                resourceGroupName: "rg",
                clusterName: "aks",
                tenantId: TENANT_A,
                clientId: app.clientId,
                secret: password.value,
            },
            { dependsOn: assignments },
        );
        outputs = [password.value, binding.id, ...assignments.map((a) => a.id)];
    }
    await new Promise<void>((resolve) => pulumi.all(outputs as import("@pulumi/pulumi").Output<unknown>[]).apply(() => resolve()));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const modules = Object.keys(require.cache);
    process.stdout.write(
        JSON.stringify({
            ms,
            heapMB: process.memoryUsage().heapUsed / 2 ** 20,
            registered,
            modules: modules.length,
            azureNativeModules: modules.filter((m) => m.includes("@pulumi/azure-native")).length,
            azureSdkLoaded: modules.some((m) => m.includes("@azure/arm-containerservice") || m.includes("@azure/identity")),
        }),
    );
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
}

function main(): void {
    const counts = process.argv
        .slice(2)
        .map(Number)
        .filter((n) => n > 0);
    const rows: string[] = [];
    for (const count of counts.length > 0 ? counts : [1, 10, 100]) {
        for (const mode of ["pulumi-only", "flat", "program"] as const) {
            const samples = Array.from(
                { length: 5 },
                () =>
                    JSON.parse(
                        execFileSync(process.execPath, [__filename, "--child", mode, String(count)], { cwd: ROOT, encoding: "utf8" }),
                    ) as {
                        ms: number;
                        heapMB: number;
                        registered: number;
                        modules: number;
                        azureNativeModules: number;
                        azureSdkLoaded: boolean;
                    },
            );
            const last = samples[samples.length - 1];
            rows.push(
                `${String(count).padStart(4)} registries  ${mode.padEnd(12)} ${median(samples.map((s) => s.ms))
                    .toFixed(0)
                    .padStart(6)} ms  ` +
                    `${median(samples.map((s) => s.heapMB))
                        .toFixed(1)
                        .padStart(6)} MB heap  ${String(last.registered).padStart(4)} registrations  ` +
                    `${String(last.modules).padStart(5)} modules (${last.azureNativeModules} azure-native)  Azure SDK loaded: ${last.azureSdkLoaded}`,
            );
        }
    }
    console.log(rows.join("\n"));
}

if (process.argv[2] === "--child") {
    child(process.argv[3] as Mode, Number(process.argv[4])).catch((error: unknown) => {
        console.error(error);
        process.exit(1);
    });
} else {
    main();
}
