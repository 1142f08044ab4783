/**
 * A stack that grants an existing service-principal AKS cluster pull access to registries in another tenant and
 * switches the cluster to the new credentials (through the component's cluster binding).
 */
import * as pulumi from "@pulumi/pulumi";
import { CrossTenantAcrPull, tenantProviders } from "aks-acr-cross-tenant";

const config = new pulumi.Config();
const clusterTenantId = config.require("clusterTenantId");
const clusterSubscriptionId = config.require("clusterSubscriptionId");
const registryTenantId = config.require("registryTenantId");

const clusterTenant = tenantProviders("tenant-a", {
    tenantId: clusterTenantId,
    subscriptionId: clusterSubscriptionId,
    environment: "public",
});
const registryTenant = tenantProviders("tenant-b", {
    tenantId: registryTenantId,
    subscriptionId: config.require("registrySubscriptionId"),
    environment: "public",
});

const images = new CrossTenantAcrPull(
    "images",
    {
        clusterTenantId,
        registryTenantId,
        registryIds: config.requireObject<string[]>("registryIds"),
        applicationName: `aks-images-${pulumi.getStack()}`,
        registryTenantProviders: registryTenant,
        cluster: {
            subscriptionId: clusterSubscriptionId,
            resourceGroupName: config.require("clusterResourceGroup"),
            clusterName: config.require("clusterName"),
            // Switch the cluster back to its old principal if this stack is ever destroyed.
            deletePolicy: "restore",
            restore: { clientId: config.require("previousClientId"), secret: config.requireSecret("previousClientSecret") },
        },
    },
    { providers: [clusterTenant.azuread, clusterTenant.azureNative] },
);

export const applicationClientId = images.applicationClientId;
export const secretExpiresAt = images.secretExpiresAt;
export const previousClusterClientId = images.previousClusterClientId;
