/**
 * The aks-acr-cross-tenant program: stack config -> explicit per-tenant providers -> component -> stack outputs.
 */
import { loadStackSettings } from "./components/config";
import { tenantProviders } from "./components/providers";
import { CrossTenantAcrPull, type CrossTenantAcrPullArgs } from "./components/crossTenantAcrPull";
import { clusterConnection } from "./components/pullSecretTarget/kubernetesProvider";

// Validation throws before any provider or resource is declared, so bad config deploys nothing.
const settings = loadStackSettings();

const clusterTenant = tenantProviders("cluster-tenant", {
    tenantId: settings.cluster.tenantId,
    subscriptionId: settings.cluster.subscriptionId,
    environment: settings.azureEnvironment,
    ...settings.cluster.credentials,
});
// Role assignments are addressed by their scope, so one provider serves registries in every tenant-B subscription.
const registryTenant = tenantProviders("registry-tenant", {
    tenantId: settings.registry.tenantId,
    subscriptionId: settings.registry.registries[0].subscriptionId,
    environment: settings.azureEnvironment,
    ...settings.registry.credentials,
});

/** The delivery's arguments: the cluster to switch, an image pull secret, tokens minted in the cluster, or nothing. */
function delivery(): Pick<
    CrossTenantAcrPullArgs,
    "cluster" | "imagePullSecret" | "federatedPullSecret" | "clusterTenantRoles" | "secretLifetimeDays" | "secretRenewBeforeDays"
> {
    const target = {
        subscriptionId: settings.cluster.subscriptionId,
        resourceGroupName: settings.cluster.resourceGroupName,
        clusterName: settings.cluster.clusterName,
    };
    switch (settings.delivery.kind) {
        case "clusterServicePrincipal":
            return {
                clusterTenantRoles: settings.delivery.roles,
                cluster: {
                    ...target,
                    deletePolicy: settings.delivery.deletePolicy,
                    restore: settings.delivery.restore,
                    timeoutMinutes: settings.delivery.timeoutMinutes,
                    signIn: settings.cluster.credentials,
                },
            };
        case "imagePullSecret": {
            const cluster = clusterConnection("cluster-kubernetes", {
                ...target,
                kubeconfig: settings.delivery.kubeconfig,
                azureNative: clusterTenant.azureNative,
            });
            return {
                imagePullSecret: {
                    ...cluster,
                    namespaces: settings.delivery.namespaces,
                    target: settings.delivery.target,
                    serviceAccounts: settings.delivery.serviceAccounts,
                    secretName: settings.delivery.secretName,
                },
            };
        }
        case "federatedPullSecret": {
            const cluster = clusterConnection("cluster-kubernetes", {
                ...target,
                kubeconfig: settings.delivery.kubeconfig,
                azureNative: clusterTenant.azureNative,
            });
            return {
                // No secret: the secret's lifetime keys do not apply (the config refuses them off their defaults).
                secretLifetimeDays: undefined,
                secretRenewBeforeDays: undefined,
                federatedPullSecret: {
                    ...cluster,
                    cluster: { resourceGroupName: target.resourceGroupName, clusterName: target.clusterName },
                    namespaces: settings.delivery.namespaces,
                    target: settings.delivery.target,
                    serviceAccounts: settings.delivery.serviceAccounts,
                    secretName: settings.delivery.secretName,
                    minterServiceAccount: settings.delivery.minterServiceAccount,
                    refreshInterval: settings.delivery.refreshInterval,
                },
            };
        }
        default:
            return {};
    }
}

const acrPull = new CrossTenantAcrPull(
    "cross-tenant-acr-pull",
    {
        clusterTenantId: settings.cluster.tenantId,
        registryTenantId: settings.registry.tenantId,
        registryIds: settings.registry.registries.map((registry) => registry.id),
        registryRole: settings.registry.role,
        registryRepositories: settings.registry.repositories,
        applicationName: settings.applicationName,
        applicationOwners: settings.applicationOwners,
        secretLifetimeDays: settings.secretLifetimeDays,
        secretRenewBeforeDays: settings.secretRenewBeforeDays,
        azureEnvironment: settings.azureEnvironment,
        registryTenantProviders: registryTenant,
        initialSecretWindowAnchor: settings.secretWindowAnchor,
        ...delivery(),
    },
    { providers: [clusterTenant.azuread, clusterTenant.azureNative] },
);

export const credentialDelivery = settings.delivery.kind;
export const applicationClientId = acrPull.applicationClientId;
export const applicationObjectId = acrPull.applicationObjectId;
export const clusterTenantServicePrincipalObjectId = acrPull.clusterTenantServicePrincipalObjectId;
export const registryTenantServicePrincipalObjectId = acrPull.registryTenantServicePrincipalObjectId;
export const roleAssignmentIds = acrPull.roleAssignmentIds;
export const registryLoginServers = acrPull.registryLoginServers;
export const pullSecrets = acrPull.pullSecrets;
export const secretExpiresAt = acrPull.secretExpiresAt;
export const secretRenewsAfter = acrPull.secretRenewsAfter;
export const secretWindowAnchor = acrPull.secretWindowAnchor;
export const adminConsentUrl = acrPull.adminConsentUrl;
export const previousClusterClientId = acrPull.previousClusterClientId;
