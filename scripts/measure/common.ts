/**
 * Constants, the stack config both programs read, and the runtime mocks every sample installs.
 * Part of `npm run measure` (scripts/measureStartup.ts).
 */
import * as path from "node:path";
import type * as MocksModule from "@pulumi/pulumi/runtime/mocks";

export type Mode = "pulumi-only" | "flat" | "program";

export const NS = "aks-acr-cross-tenant";
export const STACK = "bench";
export const ORGANIZATION = "organization";
export const TENANT_A = "aaaaaaaa-0000-4000-8000-00000000000a";
export const TENANT_B = "bbbbbbbb-0000-4000-8000-00000000000b";
export const SUB = "cccccccc-0000-4000-8000-00000000000c";
/** The service principal the mocked cluster runs on before the switch. */
export const CLUSTER_CLIENT_ID = "dddddddd-0000-4000-8000-00000000000d";
/** The compiled tree (bin/); the program is bin/index.js. */
export const BIN = path.resolve(__dirname, "..", "..");
export const ROOT = path.resolve(BIN, "..");
/** The entry point the Node language host runs (its defaultRunPath), relative to the program's directory. */
export const LANGUAGE_HOST_RUN = path.join("node_modules", "@pulumi", "pulumi", "cmd", "run");
/** Set on a language-host sample: makes this file, loaded with --require, install the mocks instead of running main(). */
export const PRELOAD_ENV = "AKS_ACR_MEASURE_STARTUP_PRELOAD";
/** Registries in the language-host table; the per-registry slope runs between the other two counts. */
export const HOST_REGISTRIES = 3;
export const SLOPE_REGISTRIES = [1, 50] as const;

export function registryIds(count: number): string[] {
    return Array.from(
        { length: count },
        (_, i) =>
            `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/registry${String(i).padStart(4, "0")}`,
    );
}

/** The stack config both programs read, keyed the way PULUMI_CONFIG carries it. */
export function stackConfig(count: number): Record<string, string> {
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

export type State = Record<string, unknown>;

/** Registrations and reads (`X.get`, StackReference): every resource comes back with the ids the graph reads. */
export function mockResource(args: MocksModule.MockResourceArgs): { id: string; state: State } {
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
export function mockCall(args: MocksModule.MockCallArgs): State {
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

export interface CountingMocks {
    readonly mocks: MocksModule.Mocks;
    readonly registered: () => number;
    /** Characters of serialized dynamic providers (the `__provider` input): what closure serialization produced. */
    readonly dynamicProviderChars: () => number;
}

export function countingMocks(): CountingMocks {
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

/** The entry point every sample process runs (this script, compiled): children re-enter it with a flag. */
export const ENTRY = path.join(BIN, "scripts", "measureStartup.js");
