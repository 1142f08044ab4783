/**
 * Measures what starting the program costs, against a flat program that declares the same resources with no component,
 * validation or helpers, in two ways:
 *
 * 1. Compiled JavaScript (bin/index.js) under the Pulumi runtime mocks, next to loading @pulumi/pulumi alone and a flat
 *    program in compiled JavaScript. Each sample is a fresh Node process; the time covers require() of the program until
 *    every resource is registered.
 * 2. The way `pulumi preview` and `pulumi up` start it. The Node language host runs `node
 *    node_modules/@pulumi/pulumi/cmd/run <program>` with PULUMI_NODEJS_TYPESCRIPT=true, and run.js registers ts-node on
 *    index.ts itself. Each sample runs that same entry point, so ts-node gets exactly run.js's options, with a --require
 *    preload (this file) that installs the runtime mocks in place of an engine. The flat program is TypeScript written
 *    to a temp directory with the tsconfig of a fresh `pulumi new azure-typescript` project. Each pair runs cold (an
 *    empty ts-node cache, as on a fresh CI runner) and warm (the cache a previous run filled), type-checked (Pulumi's
 *    default) and with PULUMI_NODEJS_TRANSPILE_ONLY=true. Times run from process start (performance.timeOrigin) to
 *    the moment cmd/run signals the engine that the program is done; ts-node registration starts right after the
 *    preload, some 35 ms in, and the table shows when.
 *
 * 3. The image pull secret delivery at scale (scripts/measureScale.ts): 100 namespaces x 3 service accounts, with the
 *    references it declares and with the server-side-apply patches earlier versions declared, side by side.
 *
 *   npm run measure [-- [--quick] [registries...]]   (--quick: 1 cold / 2 warm samples; registries: part 1's counts)
 *   npm run measure -- --profile                     (CPU profile of one warm transpile-only program run)
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import type * as MocksModule from "@pulumi/pulumi/runtime/mocks";
import type * as SettingsModule from "@pulumi/pulumi/runtime/settings";
import { scaleTable } from "./measureScale";

type Mode = "pulumi-only" | "flat" | "program";

const NS = "aks-acr-cross-tenant";
const STACK = "bench";
const ORGANIZATION = "organization";
const TENANT_A = "aaaaaaaa-0000-4000-8000-00000000000a";
const TENANT_B = "bbbbbbbb-0000-4000-8000-00000000000b";
const SUB = "cccccccc-0000-4000-8000-00000000000c";
/** The service principal the mocked cluster runs on before the switch. */
const CLUSTER_CLIENT_ID = "dddddddd-0000-4000-8000-00000000000d";
/** The compiled tree (bin/); the program is bin/index.js. */
const BIN = path.resolve(__dirname, "..");
const ROOT = path.resolve(BIN, "..");
/** The entry point the Node language host runs (its defaultRunPath), relative to the program's directory. */
const LANGUAGE_HOST_RUN = path.join("node_modules", "@pulumi", "pulumi", "cmd", "run");
/** Set on a language-host sample: makes this file, loaded with --require, install the mocks instead of running main(). */
const PRELOAD_ENV = "AKS_ACR_MEASURE_STARTUP_PRELOAD";
/** Registries in the language-host table; the per-registry slope runs between the other two counts. */
const HOST_REGISTRIES = 3;
const SLOPE_REGISTRIES = [1, 50] as const;

function registryIds(count: number): string[] {
    return Array.from(
        { length: count },
        (_, i) =>
            `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/registry${String(i).padStart(4, "0")}`,
    );
}

/** The stack config both programs read, keyed the way PULUMI_CONFIG carries it. */
function stackConfig(count: number): Record<string, string> {
    return {
        [`${NS}:clusterTenantId`]: TENANT_A,
        [`${NS}:clusterSubscriptionId`]: SUB,
        [`${NS}:clusterResourceGroup`]: "rg",
        [`${NS}:clusterName`]: "aks",
        [`${NS}:registryTenantId`]: TENANT_B,
        [`${NS}:registryIds`]: JSON.stringify(registryIds(count)),
    };
}

// ---------------------------------------------------------------------------------------------------------------------
// Mocks, shared by both kinds of sample.

type State = Record<string, unknown>;

/** Registrations and reads (`X.get`, StackReference): every resource comes back with the ids the graph reads. */
function mockResource(args: MocksModule.MockResourceArgs): { id: string; state: State } {
    const inputs = args.inputs as State;
    if (args.type === "pulumi:pulumi:StackReference") {
        return { id: args.name, state: { name: String(inputs.name), outputs: {}, secretOutputNames: [] } };
    }
    const state: State = {
        ...inputs,
        objectId: "00000000-0000-4000-8000-000000000001",
        clientId: "00000000-0000-4000-8000-000000000002",
        value: "x",
    };
    // A read (`Application.get(name, id)`) keeps the id it was asked for; a registration has an empty import id.
    return args.id ? { id: args.id, state: { ...state, displayName: args.name } } : { id: `${args.name}-id`, state };
}

/** Provider functions: what Azure would answer, enough for the program's checks to pass. */
function mockCall(args: MocksModule.MockCallArgs): State {
    const inputs = args.inputs as State;
    switch (args.token) {
        case "azure-native:containerservice:getManagedCluster": {
            const resourceGroupName = String(inputs.resourceGroupName);
            const name = String(inputs.resourceName);
            return {
                id: `/subscriptions/${SUB}/resourceGroups/${resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/${name}`,
                name,
                location: "westeurope",
                kubernetesVersion: "1.33.2",
                provisioningState: "Succeeded",
                // A service-principal cluster, the kind the default delivery switches.
                servicePrincipalProfile: { clientId: CLUSTER_CLIENT_ID },
                agentPoolProfiles: [{ name: "system", count: 3, vmSize: "Standard_D4s_v5", mode: "System" }],
            };
        }
        case "azure-native:authorization:getClientConfig":
            return {
                clientId: CLUSTER_CLIENT_ID,
                objectId: "00000000-0000-4000-8000-000000000003",
                subscriptionId: SUB,
                tenantId: TENANT_A,
            };
        case "azuread:index/getClientConfig:getClientConfig":
            return { clientId: CLUSTER_CLIENT_ID, objectId: "00000000-0000-4000-8000-000000000003", tenantId: TENANT_A };
        default:
            return {};
    }
}

interface CountingMocks {
    readonly mocks: MocksModule.Mocks;
    readonly registered: () => number;
    /** Characters of serialized dynamic providers (the `__provider` input): what closure serialization produced. */
    readonly dynamicProviderChars: () => number;
}

function countingMocks(): CountingMocks {
    let registered = 0;
    let dynamicProviderChars = 0;
    return {
        mocks: {
            newResource: (args) => {
                registered++;
                const provider = (args.inputs as State).__provider;
                if (args.type.startsWith("pulumi-nodejs:dynamic") && typeof provider === "string") {
                    dynamicProviderChars += provider.length;
                }
                return mockResource(args);
            },
            call: mockCall,
        },
        registered: () => registered,
        dynamicProviderChars: () => dynamicProviderChars,
    };
}

// ---------------------------------------------------------------------------------------------------------------------
// Part 1: compiled JavaScript.

async function child(mode: Mode, count: number): Promise<void> {
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

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
}

function compiledTable(counts: readonly number[], samplesPerCell: number): string[] {
    const rows: string[] = [];
    for (const count of counts) {
        for (const mode of ["pulumi-only", "flat", "program"] as const) {
            const samples = Array.from(
                { length: samplesPerCell },
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
    return rows;
}

// ---------------------------------------------------------------------------------------------------------------------
// Part 2: the language host's way. The flat TypeScript program: change the graph here, in this one place.

/**
 * The flat program: the program's resource graph, declared directly. Keep it the same graph as index.ts declares
 * (resources, providers, reads, invokes, the dynamic resource), so the ratio measures only what the program adds.
 *
 * When the program's graph changes, change it here (a new package goes into FLAT_DEPENDENCIES too).
 * tests/startup.test.ts checks that this graph registers what the program does, less the component.
 */
function flatProgramSource(): string {
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
const FLAT_DEPENDENCIES = ["@pulumi/pulumi", "@pulumi/azure-native", "@pulumi/azuread", "@pulumi/random"];

/** The tsconfig.json of a fresh `pulumi new azure-typescript` project (pulumi/templates, azure-typescript/). */
const FRESH_TSCONFIG = {
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
function writeFlatProject(): string {
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

type Target = "program" | "flat";
/**
 * How ts-node compiles: `as-shipped` runs the program with this project's own Pulumi.yaml runtime options (and the
 * flat program with Pulumi's defaults); the other two force the same mode on both.
 */
type Checking = "as-shipped" | "type-checked" | "transpile-only";

/** Pulumi.yaml's runtime options, as pulumi-language-nodejs turns them into the program's environment and Node arguments. */
function projectRuntime(): { readonly env: Record<string, string>; readonly nodeArgs: string[] } {
    const project = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
        runtime?: string | { options?: { typescript?: boolean; tsconfig?: string; nodeargs?: string } };
    };
    const options = typeof project.runtime === "object" ? (project.runtime.options ?? {}) : {};
    return {
        env: {
            ...(options.typescript === false ? {} : { PULUMI_NODEJS_TYPESCRIPT: "true" }),
            ...(options.tsconfig ? { PULUMI_NODEJS_TSCONFIG_PATH: options.tsconfig } : {}),
        },
        nodeArgs: options.nodeargs ? options.nodeargs.split(/\s+/).filter((arg) => arg !== "") : [],
    };
}

/** What the preload reports from inside a language-host sample. Times are ms since the process started. */
interface HostSample {
    /** When the language host signalled the (mock) engine that the program finished: exports resolved, RPCs drained. */
    readonly ms: number;
    /** When the stack's outputs were registered, i.e. every export resolved. */
    readonly exportsMs: number;
    /** When the preload ran, right before cmd/run loads and registers ts-node. */
    readonly preloadMs: number;
    readonly registered: number;
    readonly dynamicProviderChars: number;
    readonly modules: number;
    /** TypeScript files ts-node compiled or took from its cache. */
    readonly tsFiles: number;
    readonly heapMB: number;
}

interface PreloadSettings {
    readonly resultFile: string;
}

type Callback = (error: Error | null, response: unknown) => void;

/** The two MockMonitor methods the preload wraps or adds; the mock has no signalAndWaitForShutdown of its own. */
interface PatchableMonitor {
    registerResourceOutputs(request: { getUrn(): string }, callback: Callback): void;
    signalAndWaitForShutdown?: (request: unknown, callback: Callback) => void;
}

/** Runs inside a language-host sample, loaded with --require before node_modules/@pulumi/pulumi/cmd/run. */
function preload(settings: PreloadSettings): void {
    const preloadMs = performance.now();
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { setMocks } = require("@pulumi/pulumi/runtime/mocks") as typeof MocksModule;
    const { getMonitor } = require("@pulumi/pulumi/runtime/settings") as typeof SettingsModule;
    /* eslint-enable @typescript-eslint/no-require-imports */
    const { mocks, registered, dynamicProviderChars } = countingMocks();
    // setMocks does all its work before its first await; cmd/run then reads project and stack from these options.
    void setMocks(mocks, NS, STACK, false, ORGANIZATION);
    const monitor = getMonitor() as unknown as PatchableMonitor;
    let exportsMs = Number.NaN;
    const registerResourceOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (request, callback) => {
        if (request.getUrn().includes("::pulumi:pulumi:Stack::")) {
            exportsMs = performance.now();
        }
        registerResourceOutputs(request, callback);
    };
    // cmd/run calls this from its beforeExit handler once the program is done and the RPC queue has drained.
    monitor.signalAndWaitForShutdown = (_request, callback) => {
        const ms = performance.now();
        const modules = Object.keys(require.cache);
        const sample: HostSample = {
            ms,
            exportsMs,
            preloadMs,
            registered: registered(),
            dynamicProviderChars: dynamicProviderChars(),
            modules: modules.length,
            tsFiles: modules.filter((m) => m.endsWith(".ts")).length,
            heapMB: process.memoryUsage().heapUsed / 2 ** 20,
        };
        fs.writeFileSync(settings.resultFile, JSON.stringify(sample));
        callback(null, {});
    };
}

interface HostRun {
    readonly target: Target;
    readonly checking: Checking;
    readonly registries: number;
    /** TS_NODE_CACHE_DIRECTORY: ts-node's disk cache (by default os.tmpdir()/ts-node-<hash of the home directory>). */
    readonly cacheDir: string;
    readonly flatDir: string;
    readonly cpuProfileDir?: string;
}

/** The command line and environment of one language-host sample, as the Node language host would start it. */
function hostCommand(run: HostRun, resultFile: string): { cwd: string; args: string[]; env: Record<string, string> } {
    const cwd = run.target === "program" ? ROOT : run.flatDir;
    // The program as it ships: Pulumi.yaml's runtime options (tsconfig, Node arguments); the flat program never.
    const shipped = run.checking === "as-shipped" && run.target === "program" ? projectRuntime() : undefined;
    const env: Record<string, string> = {
        PULUMI_NODEJS_TYPESCRIPT: "true",
        PULUMI_CONFIG: JSON.stringify(stackConfig(run.registries)),
        PULUMI_CONFIG_SECRET_KEYS: "[]",
        TS_NODE_CACHE_DIRECTORY: run.cacheDir,
        ...(run.checking === "transpile-only" ? { PULUMI_NODEJS_TRANSPILE_ONLY: "true" } : {}),
        ...shipped?.env,
        [PRELOAD_ENV]: JSON.stringify({ resultFile } satisfies PreloadSettings),
    };
    const args = [
        ...(shipped?.nodeArgs ?? []),
        ...(run.cpuProfileDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", run.cpuProfileDir]),
        "--require",
        __filename,
        LANGUAGE_HOST_RUN,
        "--monitor",
        "mock",
        "--organization",
        ORGANIZATION,
        "--project",
        NS,
        "--stack",
        STACK,
        "--pwd",
        cwd,
        // Pulumi.yaml's `main: index.ts` for the program; "." (package.json's main) for the flat project, as the CLI passes.
        run.target === "program" ? "index.ts" : ".",
    ];
    return { cwd, args, env };
}

/** Runs one language-host sample in a fresh Node process and returns what its preload measured. */
function hostSample(run: HostRun): HostSample {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "aks-acr-sample-"));
    try {
        const resultFile = path.join(scratch, "sample.json");
        const { cwd, args, env } = hostCommand(run, resultFile);
        const inherited = Object.fromEntries(
            Object.entries(process.env).filter(
                ([key]) => !key.startsWith("TS_NODE_") && !key.startsWith("PULUMI_NODEJS_") && !key.startsWith("PULUMI_CONFIG"),
            ),
        );
        const result = spawnSync(process.execPath, args, { cwd, env: { ...inherited, ...env }, encoding: "utf8", timeout: 300_000 });
        if (result.status !== 0 || !fs.existsSync(resultFile)) {
            throw new Error(
                `${run.target} (${run.checking}) failed under the language host, exit ${String(result.status ?? result.signal)}:\n` +
                    `${result.stdout}\n${result.stderr}`,
            );
        }
        return JSON.parse(fs.readFileSync(resultFile, "utf8")) as HostSample;
    } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

function freshCacheDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "aks-acr-ts-node-"));
}

/** One cold sample: an empty ts-node cache, removed afterwards. */
function coldSample(run: Omit<HostRun, "cacheDir">): HostSample {
    const cacheDir = freshCacheDir();
    try {
        return hostSample({ ...run, cacheDir });
    } finally {
        fs.rmSync(cacheDir, { recursive: true, force: true });
    }
}

interface Stats {
    readonly median: number;
    readonly min: number;
    readonly max: number;
}

function stats(values: readonly number[]): Stats {
    return { median: median([...values]), min: Math.min(...values), max: Math.max(...values) };
}

/** Runs `sample` for program and flat, `count` rounds, alternating which goes first. */
function interleaved(count: number, sample: (target: Target) => HostSample): Record<Target, HostSample[]> {
    const samples: Record<Target, HostSample[]> = { program: [], flat: [] };
    for (let round = 0; round < count; round++) {
        for (const target of round % 2 === 0 ? (["program", "flat"] as const) : (["flat", "program"] as const)) {
            samples[target].push(sample(target));
        }
    }
    return samples;
}

function shellQuote(value: string): string {
    return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

function tsVersions(): string {
    const version = (file: string): string => (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
    let tsNode = "the vendored ts-node 7.0.1";
    try {
        tsNode = `the project's ts-node ${version(require.resolve("ts-node/package.json", { paths: [ROOT] }))}`;
    } catch {
        // Not installed: @pulumi/pulumi's tsutils.js falls back to its vendored copy.
    }
    return `${tsNode}, TypeScript ${version(path.join(ROOT, "node_modules", "typescript", "package.json"))}`;
}

const LABEL_WIDTH = 40;
const CELL_WIDTH = 22;

function tableRow(label: string, program: string, flat: string, ratio = ""): string {
    return `${label.padEnd(LABEL_WIDTH)}${program.padEnd(CELL_WIDTH)}${flat.padEnd(CELL_WIDTH)}${ratio}`;
}

function formatStats(s: Stats): string {
    return `${s.median.toFixed(0).padStart(5)} (${s.min.toFixed(0)}–${s.max.toFixed(0)})`;
}

function formatRatio(program: number, flat: number): string {
    return (program / flat).toFixed(2).padStart(6);
}

function hostTable(quick: boolean): string[] {
    const coldRounds = quick ? 1 : 5;
    const warmRounds = quick ? 2 : 7;
    const slopeRounds = quick ? 1 : 5;
    const flatDir = writeFlatProject();
    const warmDirs: string[] = [];
    const rows: string[] = [
        `Language host start-up: node ${LANGUAGE_HOST_RUN} registers ts-node on the entry point (${tsVersions()}),`,
        `Node ${process.version}, runtime mocks instead of an engine, ${HOST_REGISTRIES} registries. ms from process start until the host signals`,
        `the engine that the program is done (every export resolved, registrations drained); median (min–max) of ${coldRounds} cold /`,
        `${warmRounds} warm samples, program and flat interleaved. Cold: an empty ts-node cache (a fresh CI runner, a first run);`,
        `warm: the cache a previous run filled.`,
        "",
        tableRow("", "program ms", "flat ms", "program/flat"),
    ];
    try {
        let warmTranspileOnly: Record<Target, string> | undefined;
        let last: Record<Target, HostSample> | undefined;
        for (const checking of ["as-shipped", "type-checked", "transpile-only"] as const) {
            const base = { checking, registries: HOST_REGISTRIES, flatDir };
            const cold = interleaved(coldRounds, (target) => coldSample({ ...base, target }));
            const warmDir: Record<Target, string> = { program: freshCacheDir(), flat: freshCacheDir() };
            warmDirs.push(warmDir.program, warmDir.flat);
            // Fill each warm cache with one untimed run.
            for (const target of ["program", "flat"] as const) {
                hostSample({ ...base, target, cacheDir: warmDir[target] });
            }
            const warm = interleaved(warmRounds, (target) => hostSample({ ...base, target, cacheDir: warmDir[target] }));
            const label = {
                "as-shipped": "program as shipped, flat with Pulumi's defaults",
                "type-checked": "both type-checked (Pulumi's default)",
                "transpile-only": "both transpile-only",
            }[checking];
            for (const [cache, samples] of [
                ["cold", cold],
                ["warm", warm],
            ] as const) {
                const program = stats(samples.program.map((s) => s.ms));
                const flat = stats(samples.flat.map((s) => s.ms));
                rows.push(
                    tableRow(`${cache}, ${label}`, formatStats(program), formatStats(flat), formatRatio(program.median, flat.median)),
                );
            }
            if (checking === "transpile-only") {
                warmTranspileOnly = warmDir;
                last = { program: warm.program[warm.program.length - 1], flat: warm.flat[warm.flat.length - 1] };
            }
        }
        if (warmTranspileOnly !== undefined) {
            const cacheDir = warmTranspileOnly;
            const [low, high] = SLOPE_REGISTRIES;
            const at: Record<Target, Record<number, number[]>> = { program: { [low]: [], [high]: [] }, flat: { [low]: [], [high]: [] } };
            for (let round = 0; round < slopeRounds; round++) {
                for (const registries of round % 2 === 0 ? [low, high] : [high, low]) {
                    const samples = interleaved(1, (target) =>
                        hostSample({ target, checking: "transpile-only", registries, flatDir, cacheDir: cacheDir[target] }),
                    );
                    at.program[registries].push(samples.program[0].ms);
                    at.flat[registries].push(samples.flat[0].ms);
                }
            }
            const slope = (target: Target): number => (median(at[target][high]) - median(at[target][low])) / (high - low);
            const range = (target: Target): string => `${median(at[target][low]).toFixed(0)} → ${median(at[target][high]).toFixed(0)}`;
            rows.push(
                tableRow(
                    `per registry, warm transpile-only`,
                    `${slope("program").toFixed(1).padStart(5)} ms`,
                    `${slope("flat").toFixed(1).padStart(5)} ms`,
                    formatRatio(slope("program"), slope("flat")),
                ),
                tableRow(`  median ms at ${low} → ${high} registries`, `  ${range("program")}`, `  ${range("flat")}`),
            );
        }
        if (last !== undefined) {
            const detail = (label: string, value: (s: HostSample) => string): string =>
                tableRow(label, value(last.program), value(last.flat));
            rows.push(
                "",
                "Last warm transpile-only sample:",
                detail("  resources registered", (s) => String(s.registered)),
                detail("  modules loaded / of them .ts", (s) => `${s.modules} / ${s.tsFiles}`),
                detail("  serialized dynamic provider (KB)", (s) => (s.dynamicProviderChars / 1024).toFixed(1)),
                detail("  preload ran / exports resolved (ms)", (s) => `${s.preloadMs.toFixed(0)} / ${s.exportsMs.toFixed(0)}`),
            );
        }
        const example = hostCommand(
            { target: "program", checking: "as-shipped", registries: HOST_REGISTRIES, flatDir, cacheDir: "<empty dir for cold>" },
            "<result.json>",
        );
        rows.push(
            "",
            "Reproduce: npm run measure   (fewer samples: npm run measure -- --quick; CPU profile: npm run measure -- --profile)",
            `One sample (the program as it ships, with Pulumi.yaml's tsconfig and nodeargs), from ${example.cwd}:`,
            `  ${Object.entries(example.env)
                .map(([key, value]) => `${key}=${shellQuote(value)}`)
                .join(" ")} \\\n    node ${example.args.map(shellQuote).join(" ")}`,
            `The flat program runs the same command from its temp project (the tsconfig of \`pulumi new azure-typescript\`), program ".".`,
        );
    } finally {
        for (const dir of [flatDir, ...warmDirs]) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
    return rows;
}

// ---------------------------------------------------------------------------------------------------------------------
// CPU profile of one warm transpile-only program run.

interface CpuProfileNode {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
    readonly children?: readonly number[];
}

interface CpuProfile {
    readonly nodes: readonly CpuProfileNode[];
    readonly samples: readonly number[];
    readonly timeDeltas: readonly number[];
}

function frameUrl(url: string): string {
    const file = url.startsWith("file://") ? decodeURIComponent(url.slice("file://".length)) : url;
    return file.startsWith(ROOT) ? path.relative(ROOT, file) : file;
}

function frameKey(node: CpuProfileNode): string {
    const { functionName, url, lineNumber } = node.callFrame;
    return url === "" ? functionName : `${functionName || "(anonymous)"} ${frameUrl(url)}:${lineNumber + 1}`;
}

/** Whose time a frame is: the groups the findings talk about. Native frames (no url) count as their JS caller's. */
function frameArea(node: CpuProfileNode): string {
    const url = frameUrl(node.callFrame.url);
    if (url === "") {
        return node.callFrame.functionName;
    }
    if (url === "node:inspector" || url.includes("runtime/closure/")) {
        return "closure serialization (@pulumi/pulumi runtime/closure, node:inspector)";
    }
    if (url.includes("node_modules/typescript/")) {
        return "TypeScript (typescript.js)";
    }
    if (url.includes("vendor/ts-node") || url.includes("node_modules/ts-node/")) {
        return "ts-node (with its bundled source-map-support)";
    }
    if (url.startsWith("node:internal/modules") || url === "node:vm") {
        return "Node module loading (resolve, read, compile)";
    }
    if (url.startsWith("node:")) {
        return "other Node internals";
    }
    if (url.includes("node_modules/@pulumi/pulumi/")) {
        return "@pulumi/pulumi (other)";
    }
    if (url.includes("node_modules/@pulumi/")) {
        return "provider SDKs (@pulumi/azuread, azure-native, ...)";
    }
    if (url.includes("node_modules/")) {
        return "other packages";
    }
    if (url.startsWith("bin/scripts/")) {
        return "this script's preload (loads @pulumi/pulumi's runtime, as cmd/run does anyway)";
    }
    return "the program's own code";
}

/** Causes a sample's stack can show; they overlap (a stack trace taken inside the program counts for both). */
const CAUSES: readonly { readonly label: string; readonly matches: (frame: CpuProfileNode) => boolean }[] = [
    {
        label: "running index.ts (its top level, the SDKs it requires, its resources)",
        matches: (f) => frameKey(f) === "(anonymous) index.ts:1",
    },
    {
        label: "loading TypeScript (tsutils.loadTypeScriptCompilerOptions -> typescript-shim)",
        matches: (f) => f.callFrame.url.endsWith("/typescript-shim.js"),
    },
    {
        label: "ts-node register() (reads tsconfig.json)",
        matches: (f) => f.callFrame.functionName === "register" && f.callFrame.url.includes("ts-node"),
    },
    {
        label: "ts-node compiling (cache misses: transpile or type-check)",
        matches: (f) => f.callFrame.url.includes("ts-node") && f.callFrame.functionName === "getOutput",
    },
    {
        label: "closure serialization of dynamic providers",
        matches: (f) => f.callFrame.url === "node:inspector" || f.callFrame.url.includes("runtime/closure/"),
    },
    {
        label: "stack traces (Error.prepareStackTrace, source-mapped)",
        matches: (f) => f.callFrame.functionName === "prepareStackTrace" || f.callFrame.functionName === "prepareStackTraceCallback",
    },
    { label: "garbage collection", matches: (f) => f.callFrame.functionName === "(garbage collector)" },
];

function profileFindings(profile: CpuProfile): string[] {
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    const parent = new Map<number, number>();
    for (const node of profile.nodes) {
        for (const childId of node.children ?? []) {
            parent.set(childId, node.id);
        }
    }
    const add = (map: Map<string, number>, key: string, ms: number): void => {
        map.set(key, (map.get(key) ?? 0) + ms);
    };
    const self = new Map<string, number>();
    const area = new Map<string, number>();
    const causes = new Map<string, number>();
    const programFrames = new Map<string, number>();
    let total = 0;
    profile.samples.forEach((id, i) => {
        const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
        const stack: CpuProfileNode[] = [];
        for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
            const frame = byId.get(at);
            if (frame !== undefined) {
                stack.push(frame);
            }
        }
        if (stack.length === 0 || stack[0].callFrame.functionName === "(idle)") {
            return;
        }
        total += ms;
        add(self, frameKey(stack[0]), ms);
        const owner = stack.find((frame) => frame.callFrame.url !== "");
        add(area, owner === undefined ? stack[0].callFrame.functionName : frameArea(owner), ms);
        for (const cause of CAUSES) {
            if (stack.some(cause.matches)) {
                add(causes, cause.label, ms);
            }
        }
        for (const key of new Set(stack.filter((frame) => frameArea(frame) === "the program's own code").map(frameKey))) {
            add(programFrames, key, ms);
        }
    });
    const top = (map: Map<string, number>, count: number): string[] =>
        [...map.entries()]
            .sort((a, b) => b[1] - a[1])
            .slice(0, count)
            .map(([key, ms]) => `  ${ms.toFixed(0).padStart(6)} ms  ${key}`);
    return [
        `CPU profile of one warm transpile-only program run (${HOST_REGISTRIES} registries): ${total.toFixed(0)} ms sampled, not idle.`,
        "",
        "Inclusive time by cause (they overlap):",
        ...CAUSES.map(({ label }) => `  ${(causes.get(label) ?? 0).toFixed(0).padStart(6)} ms  ${label}`),
        "",
        "Self time by area:",
        ...top(area, 12),
        "",
        "Top self time by function:",
        ...top(self, 12),
        "",
        "The program's own frames, inclusive:",
        ...top(programFrames, 8),
    ];
}

function profileRun(): string[] {
    const flatDir = writeFlatProject();
    const cacheDir = freshCacheDir();
    const cpuProfileDir = fs.mkdtempSync(path.join(os.tmpdir(), "aks-acr-cpuprof-"));
    try {
        const run = { target: "program", checking: "transpile-only", registries: HOST_REGISTRIES, flatDir, cacheDir } as const;
        hostSample(run); // fills the cache
        const sample = hostSample({ ...run, cpuProfileDir });
        const file = fs.readdirSync(cpuProfileDir).find((name) => name.endsWith(".cpuprofile"));
        if (file === undefined) {
            throw new Error(`no CPU profile written to ${cpuProfileDir}`);
        }
        const profile = JSON.parse(fs.readFileSync(path.join(cpuProfileDir, file), "utf8")) as CpuProfile;
        return [`Profiled sample: done at ${sample.ms.toFixed(0)} ms (profiling slows it down).`, ...profileFindings(profile)];
    } finally {
        for (const dir of [flatDir, cacheDir, cpuProfileDir]) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------------

function main(): void {
    const args = process.argv.slice(2);
    if (args.includes("--profile")) {
        console.log(profileRun().join("\n"));
        return;
    }
    const quick = args.includes("--quick");
    const counts = args.map(Number).filter((n) => n > 0);
    const compiled = compiledTable(counts.length > 0 ? counts : [1, 10, 100], quick ? 1 : 5);
    console.log(
        [
            "Compiled JavaScript (bin/index.js) under the runtime mocks; ms from require() until every resource is registered, median:",
            ...compiled,
            "",
            ...hostTable(quick),
            "",
            ...scaleTable(quick),
        ].join("\n"),
    );
}

const preloadSettings = process.env[PRELOAD_ENV];
if (preloadSettings !== undefined) {
    // Loaded with --require ahead of the language host's entry point: install the mocks, then let cmd/run run.
    delete process.env[PRELOAD_ENV];
    preload(JSON.parse(preloadSettings) as PreloadSettings);
} else if (process.argv[2] === "--child") {
    child(process.argv[3] as Mode, Number(process.argv[4])).catch((error: unknown) => {
        console.error(error);
        process.exit(1);
    });
} else if (process.argv[2] === "--host-sample") {
    // One cold language-host sample as JSON, for tests: --host-sample <program|flat> <type-checked|transpile-only> <registries>.
    const flatDir = writeFlatProject();
    try {
        const sample = coldSample({
            target: process.argv[3] as Target,
            checking: process.argv[4] as Checking,
            registries: Number(process.argv[5]),
            flatDir,
        });
        process.stdout.write(JSON.stringify(sample));
    } finally {
        fs.rmSync(flatDir, { recursive: true, force: true });
    }
} else {
    main();
}
