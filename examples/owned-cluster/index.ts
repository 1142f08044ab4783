/**
 * A stack that owns its AKS cluster. The cluster is created with the component's service principal profile; later
 * rotations of the secret go through a credential binding, because ARM rejects a changed profile on PUT
 * (`PropertyChangeNotAllowed`), so the cluster itself ignores changes to that property.
 */
import * as pulumi from "@pulumi/pulumi";
import { ManagedCluster } from "@pulumi/azure-native/containerservice";
import { CrossTenantAcrPull, tenantProviders } from "aks-acr-cross-tenant";

const config = new pulumi.Config();
const clusterTenantId = config.require("clusterTenantId");
const subscriptionId = config.require("clusterSubscriptionId");
const resourceGroupName = config.require("clusterResourceGroup");
const clusterName = config.require("clusterName");
const registryTenantId = config.require("registryTenantId");

const clusterTenant = tenantProviders("tenant-a", { tenantId: clusterTenantId, subscriptionId, environment: "public" });
const registryTenant = tenantProviders("tenant-b", {
    tenantId: registryTenantId,
    subscriptionId: config.require("registrySubscriptionId"),
    environment: "public",
});

// No `cluster` argument: this stack creates the cluster itself, below.
const images = new CrossTenantAcrPull(
    "images",
    {
        clusterTenantId,
        registryTenantId,
        registryIds: config.requireObject<string[]>("registryIds"),
        applicationName: `aks-images-${pulumi.getStack()}`,
        registryTenantProviders: registryTenant,
    },
    { providers: [clusterTenant.azuread, clusterTenant.azureNative] },
);

const cluster = new ManagedCluster(
    "aks",
    {
        resourceGroupName,
        resourceName: clusterName,
        dnsPrefix: clusterName,
        agentPoolProfiles: [
            { name: "system", mode: "System", count: 2, vmSize: "Standard_D4s_v5", osType: "Linux", type: "VirtualMachineScaleSets" },
        ],
        servicePrincipalProfile: images.servicePrincipalProfile,
    },
    {
        provider: clusterTenant.azureNative,
        // The cluster must never run on credentials that cannot pull yet.
        dependsOn: images.readyForCluster,
        // A rotated secret is applied by the binding below, not by a PUT that ARM would reject.
        ignoreChanges: ["servicePrincipalProfile"],
    },
);

// The component's binding applies every later rotation; the cluster was just created with these credentials,
// so the first run records them instead of resetting (and rolling) a brand-new cluster.
images.bindCluster(
    "aks-credentials",
    {
        subscriptionId,
        resourceGroupName,
        clusterName,
        initialCredentialsApplied: true,
        // Destroying this stack deletes the cluster too.
        deletePolicy: "leave",
    },
    { dependsOn: [cluster] },
);

export const clusterId = cluster.id;
export const applicationClientId = images.applicationClientId;
export const secretExpiresAt = images.secretExpiresAt;
export const secretRenewsAfter = images.secretRenewsAfter;
