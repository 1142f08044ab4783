/**
 * The flat program measured beside ours: the same resource graph, declared directly, and its temp project.
 * Part of `npm run measure` (scripts/measureStartup.ts).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { NS, ROOT } from "./common";

// ---------------------------------------------------------------------------------------------------------------------
// Part 2: the language host's way. The flat TypeScript program: change the graph here, in this one place.

/**
 * The flat program: the program's resource graph, declared directly. Keep it the same graph as index.ts declares
 * (resources, providers, reads, invokes, the dynamic resource), so the ratio measures only what the program adds.
 *
 * When the program's graph changes, change it here (a new package goes into FLAT_DEPENDENCIES too).
 * tests/cluster/startup.test.ts checks that this graph registers what the program does, less the component.
 */
export function flatProgramSource(): string {
    return `import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import { Provider } from "@pulumi/azure-native/provider";
import { RoleAssignment } from "@pulumi/azure-native/authorization";
import { getManagedClusterOutput } from "@pulumi/azure-native/containerservice";
import { RandomId } from "@pulumi/random/randomId";

const config = new pulumi.Config();
const clusterTenantId = config.require("clusterTenantId");
const clusterSubscriptionId = config.require("clusterSubscriptionId");
const resourceGroupName = config.require("clusterResourceGroup");
const clusterName = config.require("clusterName");
const registryTenantId = config.require("registryTenantId");
const registryIds = config.requireObject<string[]>("registryIds");

// The day the secret's rotation windows count from, kept in the state.
const anchor = new RandomId(
    "secret-anchor",
    { byteLength: 4, keepers: { firstSecretDay: new Date().toISOString().slice(0, 10) } },
    { ignoreChanges: ["keepers"] },
);

const clusterAd = new azuread.Provider("cluster-tenant-azuread", { tenantId: clusterTenantId });
const clusterArm = new Provider("cluster-tenant-azure-native", { tenantId: clusterTenantId, subscriptionId: clusterSubscriptionId });
const registryAd = new azuread.Provider("registry-tenant-azuread", { tenantId: registryTenantId });
const registryArm = new Provider("registry-tenant-azure-native", {
    tenantId: registryTenantId,
    subscriptionId: registryIds[0].split("/")[2],
});

// Read the cluster first: the application waits for the read, so a cluster that cannot be switched stops everything.
const cluster = getManagedClusterOutput({ resourceGroupName, resourceName: clusterName }, { provider: clusterArm });
const app = new azuread.Application(
    "app",
    {
        displayName: cluster.apply(() => \`\${clusterName}-acr-pull-\${pulumi.getStack()}\`),
        signInAudience: "AzureADMultipleOrgs",
        tags: anchor.keepers.apply((keepers) => [\`first-secret-day=\${keepers?.firstSecretDay ?? ""}\`]),
    },
    { provider: clusterAd },
);
// The application as deployed, read back for the dates its tags record.
const deployedApp = azuread.Application.get("app-deployed", app.id, undefined, { provider: clusterAd });
const password = new azuread.ApplicationPassword(
    "password",
    {
        applicationId: app.id,
        endDate: anchor.keepers.apply((keepers) => new Date(Date.parse(keepers?.firstSecretDay ?? "2026-11-28") + 180 * 86_400_000).toISOString()),
    },
    { provider: clusterAd },
);
const clusterSp = new azuread.ServicePrincipal("cluster-tenant-sp", { clientId: app.clientId }, { provider: clusterAd });
const registrySp = new azuread.ServicePrincipal("registry-tenant-sp", { clientId: app.clientId }, { provider: registryAd });

// Both pull roles on each registry: AcrPull and Container Registry Repository Reader.
const assignments = registryIds.flatMap((scope, i) =>
    ["7f951dda-4ed3-4680-a7ca-43fe172d538d", "b93aa761-3e63-49ed-ac28-beffa264f7ac"].map(
        (guid, j) =>
            new RoleAssignment(
                \`acr-pull-\${i}-\${j}\`,
                {
                    scope,
                    roleDefinitionId: \`/subscriptions/\${scope.split("/")[2]}/providers/Microsoft.Authorization/roleDefinitions/\${guid}\`,
                    principalId: registrySp.objectId,
                    principalType: "ServicePrincipal",
                },
                { provider: registryArm },
            ),
    ),
);

// Stands in for the cluster binding: a dynamic resource whose provider captures nothing but itself.
const bindingProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: Record<string, string>) {
        return { id: \`\${inputs.clusterName}-binding\`, outs: inputs };
    },
};
class ClusterBinding extends pulumi.dynamic.Resource {
    constructor(name: string, args: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
        super(bindingProvider, name, args, opts);
    }
}
const binding = new ClusterBinding(
    "binding",
    { subscriptionId: clusterSubscriptionId, resourceGroupName, clusterName, tenantId: clusterTenantId, clientId: app.clientId, secret: password.value },
    { dependsOn: [clusterSp, ...assignments] },
);

export const applicationClientId = app.clientId;
export const applicationObjectId = app.objectId;
export const clusterTenantServicePrincipalObjectId = clusterSp.objectId;
export const registryTenantServicePrincipalObjectId = registrySp.objectId;
export const roleAssignmentIds = assignments.map((assignment) => assignment.id);
export const secretExpiresAt = password.endDate;
export const bindingId = binding.id;
export const deployedTags = deployedApp.tags;
`;
}

/** The flat project's package.json dependencies: `pulumi new azure-typescript`'s, plus what the graph imports. */
export const FLAT_DEPENDENCIES = ["@pulumi/pulumi", "@pulumi/azure-native", "@pulumi/azuread", "@pulumi/random"];

/** The tsconfig.json of a fresh `pulumi new azure-typescript` project (pulumi/templates, azure-typescript/). */
export const FRESH_TSCONFIG = {
    compilerOptions: {
        strict: true,
        outDir: "bin",
        target: "es2020",
        module: "nodenext",
        moduleResolution: "nodenext",
        sourceMap: true,
        experimentalDecorators: true,
        pretty: true,
        noFallthroughCasesInSwitch: true,
        noImplicitReturns: true,
        forceConsistentCasingInFileNames: true,
    },
    files: ["index.ts"],
};

/** Writes the flat project to a temp directory whose node_modules is the project's. Returns the directory. */
export function writeFlatProject(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aks-acr-flat-"));
    const version = (name: string): string =>
        `^${(JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version}`;
    fs.writeFileSync(
        path.join(dir, "package.json"),
        `${JSON.stringify(
            {
                name: `${NS}-flat`,
                main: "index.ts",
                devDependencies: { "@types/node": version("@types/node"), typescript: version("typescript") },
                dependencies: Object.fromEntries(FLAT_DEPENDENCIES.map((name) => [name, version(name)])),
            },
            undefined,
            4,
        )}\n`,
    );
    fs.writeFileSync(path.join(dir, "tsconfig.json"), `${JSON.stringify(FRESH_TSCONFIG, undefined, 4)}\n`);
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), `name: ${NS}\nruntime: nodejs\n`);
    fs.writeFileSync(path.join(dir, "index.ts"), flatProgramSource());
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    return dir;
}
