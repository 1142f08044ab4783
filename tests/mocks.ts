/**
 * Pulumi runtime mocks that record every registration, so tests can assert types, names, inputs, providers
 * (and through them tenants) of everything a program or component declares.
 */
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { kubernetesStore, startFakeDiscovery, type FakeDiscovery } from "./fakeDiscovery";

/** The wrapper Pulumi uses for secret values inside mocked inputs. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_TAG = "1b47061264138c4ac30d75fd1eb44270";

export interface Recorded {
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, unknown>;
    /** `"<provider urn>::<provider id>"`, or "" for a default provider. */
    readonly provider: string;
    readonly id: string;
    /** A read of an existing object (`Resource.get`), not a resource the program manages. */
    readonly read?: boolean;
}

/** One resource as a stack's state holds it after a run. */
export interface StateEntry {
    readonly type: string;
    readonly id: string;
    readonly state: Record<string, unknown>;
}

/** A stack's state after a run, by resource name: what the next run starts from. */
export type StackState = ReadonlyMap<string, StateEntry>;

/** A provider function call the program made. */
export interface RecordedCall {
    readonly token: string;
    readonly inputs: Record<string, unknown>;
    readonly provider: string;
}

/** The AKS cluster `getManagedCluster` returns: a service-principal cluster unless a test says otherwise. */
export interface MockCluster {
    readonly servicePrincipalProfile?: { readonly clientId: string };
    readonly identity?: { readonly type: string };
    readonly oidcIssuerProfile?: { readonly enabled?: boolean; readonly issuerURL?: string };
}

/** The token of the kubeconfig the mocked AKS user-credential action returns. */
export const MOCK_CLUSTER_USER_TOKEN = "mock-cluster-user-token";

/** The fake API server every run's reads of namespaces and service accounts reach (started once per test process). */
let sharedCluster: Promise<FakeDiscovery> | undefined;

/** The fake API server behind `RecordingMocks.userKubeconfig`, serving the objects `withKubernetes` made. */
export function mockCluster(): Promise<FakeDiscovery> {
    sharedCluster ??= startFakeDiscovery();
    return sharedCluster;
}

/** A stable fake GUID derived from a seed. */
export function fakeGuid(seed: string): string {
    const hex = crypto.createHash("sha256").update(seed).digest("hex");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The start of the fake secret the mocked ApplicationPassword returns; tests search outputs and errors for it. */
export function fakeSecretFor(name: string): string {
    return `mock-secret-of-${name}`;
}

export function isSecretWrapped(value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG] === SECRET_TAG;
}

export function unwrapSecret(value: unknown): unknown {
    return isSecretWrapped(value) ? (value as Record<string, unknown>).value : value;
}

export class RecordingMocks implements pulumi.runtime.Mocks {
    readonly resources: Recorded[] = [];
    readonly calls: RecordedCall[] = [];
    /** What reading the AKS cluster returns. */
    cluster: MockCluster = { servicePrincipalProfile: { clientId: "0ld0ld00-0000-4000-8000-000000000000" } };
    /**
     * Kubernetes objects a read can find, keyed by id (`namespace` or `namespace/name`), with their state: what the
     * fake API servers answer (`fakeDiscovery.ts`), and `X.get` reads under these mocks. Reads of anything else fail
     * as the API server and the engine fail them.
     */
    kubernetesObjects: Map<string, Record<string, unknown>> = new Map();
    /** The kubeconfig the mocked AKS user-credential action returns (decoded): the shared fake API server's. */
    userKubeconfig = "";
    /**
     * The state the previous run left, as the engine would use it: a resource declared with `ignoreChanges` on its
     * keepers (the rotation anchor) keeps its stored keepers, and a read of the application sees the deployed
     * application, as in a preview.
     */
    deployed: StackState = new Map();
    private readonly states = new Map<string, StateEntry>();

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
        const result = this.register(args);
        if (!args.id) {
            this.states.set(args.name, { type: args.type, id: result.id, state: result.state });
        }
        return result;
    }

    /** The state this run leaves, for the next run. */
    snapshot(): StackState {
        return new Map(this.states);
    }

    private register(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
        const inputs = args.inputs as Record<string, unknown>;
        if (args.id && args.type === "azuread:index/application:Application") {
            // A read of the application: the deployed one when there is one (a preview), else this run's (an update).
            const matches = (entry: StateEntry): boolean => entry.type === args.type && entry.id === args.id;
            const found = [...this.deployed.values()].find(matches) ?? [...this.states.values()].find(matches);
            if (found === undefined) {
                throw new Error(`resource '${args.id}' does not exist`);
            }
            // A read's properties are what it found (policies see those, as the engine gives them).
            this.resources.push({
                type: args.type,
                name: args.name,
                inputs: found.state,
                provider: args.provider ?? "",
                id: args.id,
                read: true,
            });
            return { id: args.id, state: found.state };
        }
        if (args.id !== undefined && args.id !== "" && args.type.startsWith("kubernetes:")) {
            const found = this.kubernetesObjects.get(args.id);
            if (found === undefined) {
                throw new Error(`resource '${args.id}' does not exist`);
            }
            this.resources.push({ type: args.type, name: args.name, inputs, provider: args.provider ?? "", id: args.id, read: true });
            return { id: args.id, state: found };
        }
        const id = args.type.startsWith("pulumi:providers:") ? `${args.name}-provider-id` : `${args.name}-id`;
        let state: Record<string, unknown> = { ...inputs };
        switch (args.type) {
            case "azuread:index/application:Application": {
                const objectId = fakeGuid(`app-object:${args.name}`);
                state = { ...inputs, clientId: fakeGuid(`app-client:${args.name}`), objectId };
                this.resources.push({
                    type: args.type,
                    name: args.name,
                    inputs,
                    provider: args.provider ?? "",
                    id: `/applications/${objectId}`,
                });
                return { id: `/applications/${objectId}`, state };
            }
            case "random:index/randomId:RandomId": {
                // ignoreChanges: ["keepers"]: a resource already in the state keeps the keepers it was created with.
                const stored = this.deployed.get(args.name);
                state = { ...inputs, keepers: stored ? stored.state.keepers : inputs.keepers, hex: "0badcafe" };
                break;
            }
            case "azuread:index/servicePrincipal:ServicePrincipal":
                state = { ...inputs, objectId: fakeGuid(`sp:${args.name}`) };
                break;
            case "azuread:index/applicationPassword:ApplicationPassword":
                // A different end date is a different password, so a different value.
                state = {
                    ...inputs,
                    keyId: fakeGuid(`key:${args.name}:${String(inputs.endDate)}`),
                    value: `${fakeSecretFor(args.name)}:${String(inputs.endDate)}`,
                };
                break;
            case "azure-native:authorization:RoleAssignment": {
                const scope = String(inputs.scope);
                const assignmentId = `${scope}/providers/Microsoft.Authorization/roleAssignments/${fakeGuid(args.name)}`;
                this.resources.push({ type: args.type, name: args.name, inputs, provider: args.provider ?? "", id: assignmentId });
                return { id: assignmentId, state: { ...inputs, id: assignmentId } };
            }
            default:
                break;
        }
        this.resources.push({ type: args.type, name: args.name, inputs, provider: args.provider ?? "", id });
        return { id, state };
    }

    /** Registry role-assignment modes by lower-case registry name (`unreadable`: the read is refused); absent: legacy. */
    readonly registryModes = new Map<string, string>();

    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        this.calls.push({ token: args.token, inputs: args.inputs as Record<string, unknown>, provider: args.provider ?? "" });
        switch (args.token) {
            case "azure-native:containerservice:getManagedCluster":
                return { ...this.cluster, name: (args.inputs as { resourceName?: unknown }).resourceName };
            case "azure-native:resources:getResource": {
                // A registry as ARM 2025-11-01 returns it; "unreadable" answers as a provider without read access.
                const name = String((args.inputs as { resourceName?: unknown }).resourceName).toLowerCase();
                const mode = this.registryModes.get(name);
                if (mode === "unreadable") {
                    throw new Error(
                        `AuthorizationFailed: the client does not have authorization to perform action 'Microsoft.ContainerRegistry/registries/read' over scope '.../registries/${name}'`,
                    );
                }
                return {
                    id: name,
                    name,
                    type: "Microsoft.ContainerRegistry/registries",
                    properties: mode === undefined ? {} : { roleAssignmentMode: mode },
                };
            }
            case "azure-native:containerservice:listManagedClusterUserCredentials":
                return { kubeconfigs: [{ name: "clusterUser", value: Buffer.from(this.userKubeconfig, "utf8").toString("base64") }] };
            default:
                throw new Error(`unexpected provider function call ${args.token}`);
        }
    }

    /** Makes namespaces and their service accounts exist for reads; `imagePullSecrets` per `namespace/account`. */
    withKubernetes(
        namespaces: readonly string[],
        accounts: readonly string[],
        imagePullSecrets: Record<string, string[]> = {},
        /** `namespace/name` -> the field manager whose server-side apply owns that service account's list. */
        applyOwners: Record<string, string> = {},
    ): this {
        for (const namespace of namespaces) {
            this.kubernetesObjects.set(namespace, { metadata: { name: namespace } });
            for (const account of accounts) {
                const key = `${namespace}/${account}`;
                const listed = imagePullSecrets[key];
                const owner = applyOwners[key];
                const managedFields = owner ? [{ manager: owner, operation: "Apply", fieldsV1: { "f:imagePullSecrets": {} } }] : undefined;
                this.kubernetesObjects.set(key, {
                    metadata: { name: account, namespace, ...(managedFields ? { managedFields } : {}) },
                    ...(listed ? { imagePullSecrets: listed.map((name) => ({ name })) } : {}),
                });
            }
        }
        return this;
    }

    /** Resources the program manages (reads left out). */
    managed(): Recorded[] {
        return this.resources.filter((resource) => !resource.read);
    }

    ofType(type: string): Recorded[] {
        return this.resources.filter((resource) => resource.type === type);
    }

    named(name: string): Recorded {
        const found = this.resources.find((resource) => resource.name === name);
        if (!found) {
            throw new Error(`no resource named ${name}; have ${this.resources.map((r) => r.name).join(", ")}`);
        }
        return found;
    }

    /** The provider resource a resource was registered with ("" provider references resolve to undefined). */
    providerOf(resource: Recorded): Recorded | undefined {
        if (!resource.provider) {
            return undefined;
        }
        const providerId = resource.provider.slice(resource.provider.lastIndexOf("::") + 2);
        return this.resources.find((candidate) => candidate.type.startsWith("pulumi:providers:") && candidate.id === providerId);
    }

    /** The tenant a resource acts in, read from its provider's `tenantId` input. */
    tenantOf(resource: Recorded): string | undefined {
        const provider = this.providerOf(resource);
        return provider ? (provider.inputs.tenantId as string | undefined) : undefined;
    }
}

/** Installs fresh recording mocks and returns them. */
export async function installMocks(stack = "test", preview = false, deployed: StackState = new Map()): Promise<RecordingMocks> {
    const mocks = new RecordingMocks();
    mocks.deployed = deployed;
    // One store: the fake API servers answer from these mocks' objects from now on.
    kubernetesStore.objects = mocks.kubernetesObjects;
    mocks.userKubeconfig = (await mockCluster()).kubeconfig(MOCK_CLUSTER_USER_TOKEN);
    await pulumi.runtime.setMocks(mocks, "aks-acr-cross-tenant", stack, preview, "organization");
    return mocks;
}

/** Resolves an output's value (undefined while unknown). */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}

/** The error an output that must fail rejects with (pulumi.Output keeps its promise internal; tests may reach for it). */
export async function failureOf(output: pulumi.Output<unknown>): Promise<unknown> {
    try {
        await (output as unknown as { promise(): Promise<unknown> }).promise();
    } catch (error) {
        return error;
    }
    return undefined;
}

/** Lets pending registrations reach the mocks. */
export async function settle(): Promise<void> {
    for (let i = 0; i < 20; i++) {
        await new Promise((resolve) => setImmediate(resolve));
    }
}

/** Fixed identifiers used across tests. */
export const TENANT_A = "aaaaaaaa-0000-4000-8000-00000000000a";
export const TENANT_B = "bbbbbbbb-0000-4000-8000-00000000000b";
export const SUB_A = "aaaaaaaa-1111-4111-8111-11111111111a";
export const SUB_B1 = "bbbbbbbb-2222-4222-8222-2222222222b1";
export const SUB_B2 = "bbbbbbbb-3333-4333-8333-3333333333b2";

export function registryId(subscriptionId: string, resourceGroup: string, name: string): string {
    return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${name}`;
}
