/**
 * Part 1: the program as compiled JavaScript under the runtime mocks, one fresh Node process per sample.
 * Part of `npm run measure` (scripts/measureStartup.ts).
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import {
    BIN,
    ENTRY,
    Mode,
    NS,
    ORGANIZATION,
    ROOT,
    STACK,
    SUB,
    TENANT_A,
    TENANT_B,
    countingMocks,
    registryIds,
    stackConfig,
} from "./common";

// ---------------------------------------------------------------------------------------------------------------------
// Part 1: compiled JavaScript.

export async function child(mode: Mode, count: number): Promise<void> {
    const started = process.hrtime.bigint();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    const { mocks, registered } = countingMocks();
    await pulumi.runtime.setMocks(mocks, NS, STACK, false, ORGANIZATION);
    const ids = registryIds(count);
    let outputs: unknown[] = [];
    if (mode === "program") {
        pulumi.runtime.setAllConfig(stackConfig(count));
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        outputs = Object.values(require(path.join(BIN, "index.js")) as Record<string, unknown>);
    } else if (mode === "flat") {
        /* eslint-disable @typescript-eslint/no-require-imports */
        const azuread = require("@pulumi/azuread") as typeof import("@pulumi/azuread");
        const { Provider } = require("@pulumi/azure-native/provider") as typeof import("@pulumi/azure-native/provider");
        const { RoleAssignment } = require("@pulumi/azure-native/authorization") as typeof import("@pulumi/azure-native/authorization");
        const { getManagedClusterOutput } =
            require("@pulumi/azure-native/containerservice") as typeof import("@pulumi/azure-native/containerservice");
        const { RandomId } = require("@pulumi/random/randomId") as typeof import("@pulumi/random/randomId");
        /* eslint-enable @typescript-eslint/no-require-imports */
        // The rotation anchor the component keeps in its state.
        const anchor = new RandomId("anchor", { byteLength: 4, keepers: { firstSecretDay: "2026-11-28" } }, { ignoreChanges: ["keepers"] });
        const adA = new azuread.Provider("a", { tenantId: TENANT_A });
        const nA = new Provider("an", { tenantId: TENANT_A, subscriptionId: SUB });
        const adB = new azuread.Provider("b", { tenantId: TENANT_B });
        const nB = new Provider("bn", { tenantId: TENANT_B, subscriptionId: SUB });
        // The program reads the cluster before it declares the application.
        const cluster = getManagedClusterOutput({ resourceGroupName: "rg", resourceName: "aks" }, { provider: nA });
        const app = new azuread.Application(
            "app",
            { displayName: cluster.apply(() => "aks"), signInAudience: "AzureADMultipleOrgs", tags: ["expires=2027-01-01"] },
            { provider: adA },
        );
        // The application as deployed, read back for the secret's dates.
        azuread.Application.get("app-deployed", app.id, undefined, { provider: adA });
        new azuread.ServicePrincipal("sp-a", { clientId: app.clientId }, { provider: adA });
        const password = new azuread.ApplicationPassword(
            "pw",
            { applicationId: app.id, endDate: anchor.keepers.apply(() => "2027-01-01T00:00:00Z") },
            { provider: adA },
        );
        const sp = new azuread.ServicePrincipal("sp-b", { clientId: app.clientId }, { provider: adB });
        // Both pull roles on each registry: AcrPull and Container Registry Repository Reader.
        const assignments = ids.flatMap((id, i) =>
            ["7f951dda-4ed3-4680-a7ca-43fe172d538d", "b93aa761-3e63-49ed-ac28-beffa264f7ac"].map(
                (guid, j) =>
                    new RoleAssignment(
                        `ra-${i}-${j}`,
                        {
                            scope: id,
                            roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${guid}`,
                            principalId: sp.objectId,
                            principalType: "ServicePrincipal",
                        },
                        { provider: nB },
                    ),
            ),
        );
        // The switch of the existing cluster is a dynamic resource: the flat program declares it too.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { ClusterCredentialBinding } = require(
            path.join(BIN, "components", "clusterBinding.js"),
        ) as typeof import("../../components/clusterBinding");
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
    // An output that never resolves would let Node exit quietly with nothing printed: say so instead.
    const unresolved = (): void => {
        console.error("the program's outputs never resolved");
        process.exitCode = 1;
    };
    process.once("exit", unresolved);
    await new Promise<void>((resolve) => pulumi.all(outputs as import("@pulumi/pulumi").Output<unknown>[]).apply(() => resolve()));
    process.off("exit", unresolved);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const modules = Object.keys(require.cache);
    process.stdout.write(
        JSON.stringify({
            ms,
            heapMB: process.memoryUsage().heapUsed / 2 ** 20,
            registered: registered(),
            modules: modules.length,
            azureNativeModules: modules.filter((m) => m.includes("@pulumi/azure-native")).length,
            azureSdkLoaded: modules.some((m) => m.includes("@azure/arm-containerservice") || m.includes("@azure/identity")),
            kubernetesLoaded: modules.some((m) => m.includes("@pulumi/kubernetes")),
        }),
    );
}

export function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
}

export function compiledTable(counts: readonly number[], samplesPerCell: number): string[] {
    const rows: string[] = [];
    for (const count of counts) {
        for (const mode of ["pulumi-only", "flat", "program"] as const) {
            const samples = Array.from(
                { length: samplesPerCell },
                () =>
                    JSON.parse(
                        execFileSync(process.execPath, [ENTRY, "--child", mode, String(count)], { cwd: ROOT, encoding: "utf8" }),
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
    return rows;
}
