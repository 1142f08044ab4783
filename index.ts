/**
 * The aks-acr-cross-tenant program: stack config -> explicit per-tenant providers -> component -> stack outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadStackSettings } from "./components/config";
import { tenantProviders } from "./components/providers";
import { CrossTenantAcrPull } from "./components/crossTenantAcrPull";

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

// This stack's own last outputs: the deployed secret's dates, so a preview can say when it is due, and the day its
// rotation windows count from.
const deployed = new pulumi.StackReference("deployed-secret", {
    name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
});

const acrPull = new CrossTenantAcrPull(
    "cross-tenant-acr-pull",
    {
        clusterTenantId: settings.cluster.tenantId,
        registryTenantId: settings.registry.tenantId,
        registryIds: settings.registry.registries.map((registry) => registry.id),
        registryRole: settings.registry.role,
        applicationName: settings.applicationName,
        applicationOwners: settings.applicationOwners,
        secretLifetimeDays: settings.secretLifetimeDays,
        secretRenewBeforeDays: settings.secretRenewBeforeDays,
        azureEnvironment: settings.azureEnvironment,
        registryTenantProviders: registryTenant,
        deployedSecret: pulumi
            .all([deployed.getOutput("secretExpiresAt"), deployed.getOutput("secretRenewsAfter"), deployed.getOutput("secretWindowAnchor")])
            .apply(([expiresAt, renewsAfter, windowAnchor]) => ({
                expiresAt: typeof expiresAt === "string" ? expiresAt : undefined,
                renewsAfter: typeof renewsAfter === "string" ? renewsAfter : undefined,
                windowAnchor: typeof windowAnchor === "string" ? windowAnchor : undefined,
            })),
        clusterTenantRoles: settings.clusterSwitch?.roles,
        cluster: settings.clusterSwitch && {
            subscriptionId: settings.cluster.subscriptionId,
            resourceGroupName: settings.cluster.resourceGroupName,
            clusterName: settings.cluster.clusterName,
            deletePolicy: settings.clusterSwitch.deletePolicy,
            restore: settings.clusterSwitch.restore,
            timeoutMinutes: settings.clusterSwitch.timeoutMinutes,
            signIn: settings.cluster.credentials,
        },
    },
    { providers: [clusterTenant.azuread, clusterTenant.azureNative] },
);

export const applicationClientId = acrPull.applicationClientId;
export const applicationObjectId = acrPull.applicationObjectId;
export const clusterTenantServicePrincipalObjectId = acrPull.clusterTenantServicePrincipalObjectId;
export const registryTenantServicePrincipalObjectId = acrPull.registryTenantServicePrincipalObjectId;
export const roleAssignmentIds = acrPull.roleAssignmentIds;
export const secretExpiresAt = acrPull.secretExpiresAt;
export const secretRenewsAfter = acrPull.secretRenewsAfter;
export const secretWindowAnchor = acrPull.secretWindowAnchor;
export const adminConsentUrl = acrPull.adminConsentUrl;
export const previousClusterClientId = acrPull.previousClusterClientId;
