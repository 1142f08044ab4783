/**
 * A stack that lets an existing AKS cluster pull from registries in another tenant with no secret at all. The
 * application gets a federated identity credential per namespace, trusting the cluster's OIDC issuer; External
 * Secrets Operator (installed in the cluster, v0.17 or later) exchanges a token of the minting service account for
 * short-lived registry tokens and keeps a pull secret in each namespace fresh; the namespace's `default` service
 * account references it. Nothing expires that a person must renew.
 */
import * as pulumi from "@pulumi/pulumi";
import { CrossTenantAcrPull, clusterConnection, tenantProviders } from "aks-acr-cross-tenant";

const config = new pulumi.Config();
const clusterTenantId = config.require("clusterTenantId");
const clusterSubscriptionId = config.require("clusterSubscriptionId");
const registryTenantId = config.require("registryTenantId");
const resourceGroupName = config.require("clusterResourceGroup");
const clusterName = config.require("clusterName");

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

// The cluster's connection (user credentials read through tenant A), never the ambient KUBECONFIG.
const cluster = clusterConnection("aks", {
    subscriptionId: clusterSubscriptionId,
    resourceGroupName,
    clusterName,
    azureNative: clusterTenant.azureNative,
});

const images = new CrossTenantAcrPull(
    "images",
    {
        clusterTenantId,
        registryTenantId,
        registryIds: config.requireObject<string[]>("registryIds"),
        applicationName: `aks-images-${pulumi.getStack()}`,
        registryTenantProviders: registryTenant,
        federatedPullSecret: {
            ...cluster,
            // The cluster whose OIDC issuer the federated credentials trust (az aks update --enable-oidc-issuer).
            cluster: { resourceGroupName, clusterName },
            namespaces: ["apps", "jobs"],
            serviceAccounts: ["default"],
            refreshInterval: "1h",
        },
    },
    { providers: [clusterTenant.azuread, clusterTenant.azureNative] },
);

// No secret and nothing to renew among the outputs.
export const applicationClientId = images.applicationClientId;
export const pullSecrets = images.pullSecrets;
export const registryLoginServers = images.registryLoginServers;
