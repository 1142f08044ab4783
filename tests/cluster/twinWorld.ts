/**
 * One Azure twin world for a suite: tenant A (clusters) and tenant B (registries), a deployer in each (the
 * identities the stacks' providers and the cluster binding sign in with), two registries in two tenant-B
 * subscriptions as in Pulumi.dev.yaml, and the HTTPS face the Azure SDK reaches through `HTTPS_PROXY`.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startTwinFace, type TwinFace } from "../twin/https";
import { FEDERATION_AUDIENCE } from "../../components/deliveries/federatedPullSecret/externalSecrets";
import {
    newGuid,
    seedCluster,
    seedDeployer,
    seedRegistry,
    type TwinApplication,
    TwinStore,
    type TwinRegistry,
    type TwinState,
} from "../twin/store";

export const TENANT_A = "a0a0a0a0-0000-4000-8000-00000000000a";
export const TENANT_B = "b0b0b0b0-0000-4000-8000-00000000000b";
export const SUBSCRIPTION_A = "a1a1a1a1-0000-4000-8000-0000000000a1";
export const SUBSCRIPTION_B1 = "b1b1b1b1-0000-4000-8000-0000000000b1";
export const SUBSCRIPTION_B2 = "b2b2b2b2-0000-4000-8000-0000000000b2";

export interface Credentials {
    readonly clientId: string;
    readonly secret: string;
}

export interface TwinWorld {
    readonly dir: string;
    readonly store: TwinStore;
    readonly face: TwinFace;
    readonly deployerA: Credentials;
    readonly deployerB: Credentials;
    readonly registries: readonly TwinRegistry[];
    /** What the program's processes need to reach the twin: the store, the proxy, the CA. */
    env(): Record<string, string>;
    stop(): Promise<void>;
}

/**
 * Starts a world; `replicationDelayMs` is how long a new service principal stays unknown to ARM and AKS;
 * `kubernetesCa` is the rig's CA, for Entra to fetch the rig's service-account issuer keys (federated credentials).
 */
export async function startTwinWorld(
    options: { readonly replicationDelayMs?: number; readonly kubernetesCa?: string } = {},
): Promise<TwinWorld> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aks-acr-twin-"));
    const store = TwinStore.create(
        path.join(dir, "store.json"),
        { [TENANT_A]: "Contoso clusters (tenant A)", [TENANT_B]: "Fabrikam registries (tenant B)" },
        { replicationDelayMs: options.replicationDelayMs ?? 2_000 },
    );
    const deployerA = seedDeployer(store, TENANT_A, "deployer-a");
    const deployerB = seedDeployer(store, TENANT_B, "deployer-b");
    const registries = [
        seedRegistry(store, {
            tenantId: TENANT_B,
            subscriptionId: SUBSCRIPTION_B1,
            resourceGroupName: "rg-registry",
            name: "contosoimages",
        }),
        seedRegistry(store, {
            tenantId: TENANT_B,
            subscriptionId: SUBSCRIPTION_B2,
            resourceGroupName: "rg-registry-shared",
            name: "contososhared",
            roleAssignmentMode: "AbacRepositoryPermissions",
        }),
    ];
    const face = await startTwinFace({ store, dir: path.join(dir, "face"), kubernetesCa: options.kubernetesCa });
    return {
        dir,
        store,
        face,
        deployerA,
        deployerB,
        registries,
        env: () => ({ AZURE_TWIN_STORE: store.file, ...face.env() }),
        stop: async () => {
            await face.stop();
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

/** The config every stack file of the program has: the two tenants, the cluster, the registries, the deployers' client ids. */
export function programStackConfig(world: TwinWorld, clusterName: string): Record<string, unknown> {
    return {
        clusterTenantId: TENANT_A,
        clusterSubscriptionId: SUBSCRIPTION_A,
        clusterResourceGroup: "rg-aks",
        clusterName,
        registryTenantId: TENANT_B,
        registryIds: world.registries.map((registry) => registry.id),
        clusterClientId: world.deployerA.clientId,
        registryClientId: world.deployerB.clientId,
    };
}

/** A cluster in tenant A's `rg-aks` that runs as the service principal `principal`, as the program's stacks start. */
export function seedServicePrincipalCluster(
    world: TwinWorld,
    name: string,
    principal: { readonly clientId: string; readonly secret: string },
): void {
    seedCluster(world.store, {
        tenantId: TENANT_A,
        subscriptionId: SUBSCRIPTION_A,
        resourceGroupName: "rg-aks",
        name,
        servicePrincipalProfile: { clientId: principal.clientId, secret: principal.secret },
    });
}

/**
 * A managed-identity cluster in tenant A's `rg-aks` whose user credential is `kubeconfig` (the rig's API server),
 * as the cluster-side deliveries need; with `oidcIssuerURL`, its OIDC issuer enabled at that address.
 */
export function seedManagedIdentityCluster(world: TwinWorld, name: string, kubeconfig: string, oidcIssuerURL?: string): void {
    seedCluster(world.store, {
        tenantId: TENANT_A,
        subscriptionId: SUBSCRIPTION_A,
        resourceGroupName: "rg-aks",
        name,
        servicePrincipalProfile: { clientId: "msi" },
        identity: { type: "SystemAssigned" },
        ...(oidcIssuerURL === undefined ? {} : { oidcIssuerProfile: { enabled: true, issuerURL: oidcIssuerURL } }),
        userKubeconfig: kubeconfig,
    });
}

const ACR_PULL_ROLE = "7f951dda-4ed3-4680-a7ca-43fe172d538d";

/**
 * Seeds a multitenant application homed in tenant A with a federated credential (`subject` under the rig's issuer,
 * Entra's federation audience), its service principal in each of `principalTenants` (replicated long ago), and AcrPull
 * on `registry` for its principal in the registry's tenant, if it has one there (no `registry`: no pull role at all).
 * Returns the client id.
 */
export function seedFederatedApplication(
    store: TwinStore,
    options: {
        readonly displayName: string;
        readonly issuer: string;
        readonly subject: string;
        readonly principalTenants: readonly string[];
        readonly registry?: TwinRegistry;
    },
): string {
    return store.mutate((state, log) => {
        const app: TwinApplication = {
            objectId: newGuid(),
            clientId: newGuid(),
            homeTenantId: TENANT_A,
            displayName: options.displayName,
            signInAudience: "AzureADMultipleOrgs",
            owners: [],
            redirectUris: [],
            tags: [],
            createdAt: new Date().toISOString(),
        };
        state.applications[app.objectId] = app;
        const credentialId = newGuid();
        state.federatedCredentials[credentialId] = {
            credentialId,
            applicationObjectId: app.objectId,
            displayName: options.displayName,
            issuer: options.issuer,
            subject: options.subject,
            audiences: [FEDERATION_AUDIENCE],
        };
        for (const tenantId of options.principalTenants) {
            const objectId = newGuid();
            state.servicePrincipals[objectId] = { objectId, clientId: app.clientId, tenantId, createdAt: new Date(0).toISOString() };
            if (options.registry === undefined || tenantId !== options.registry.tenantId) continue;
            const name = newGuid();
            const id = `${options.registry.id}/providers/Microsoft.Authorization/roleAssignments/${name}`;
            state.roleAssignments[id.toLowerCase()] = {
                id,
                name,
                tenantId,
                scope: options.registry.id,
                roleDefinitionId: `/subscriptions/${options.registry.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL_ROLE}`,
                principalId: objectId,
                principalType: "ServicePrincipal",
                createdAt: new Date(0).toISOString(),
            };
        }
        log("test", "seed federated application", app.clientId, { subject: options.subject, tenants: options.principalTenants.join(",") });
        return app.clientId;
    });
}

/** The deployers' secrets, as `pulumi config set --secret` sets them. */
export function deployerSecrets(world: TwinWorld): Record<string, string> {
    return { clusterClientSecret: world.deployerA.secret, registryClientSecret: world.deployerB.secret };
}

/** What a stack leaves in the twin, without the log and the deployers: compared before and after a stack's life. */
export function footprint(state: TwinState): unknown {
    return {
        applications: Object.values(state.applications)
            .map((app) => app.displayName)
            .sort(),
        passwords: Object.keys(state.passwords).length,
        federatedCredentials: Object.keys(state.federatedCredentials).length,
        servicePrincipals: Object.values(state.servicePrincipals)
            .map((sp) => `${sp.tenantId}/${sp.clientId}`)
            .sort(),
        roleAssignments: Object.keys(state.roleAssignments).sort(),
        clusters: Object.values(state.clusters)
            .map((cluster) => `${cluster.name}:${cluster.servicePrincipalProfile.clientId}`)
            .sort(),
    };
}
