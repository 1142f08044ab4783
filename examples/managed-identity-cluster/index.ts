/**
 * A stack that lets an existing managed-identity AKS cluster pull from registries in another tenant. A managed
 * identity cannot cross tenants and such a cluster cannot be switched to a service principal, so the component
 * delivers the application's credentials as an image pull secret: a Secret in each namespace, referenced from the
 * namespace's `default` service account. The stack also creates one of the namespaces, to show `dependsOn`.
 */
import * as pulumi from "@pulumi/pulumi";
import { Namespace } from "@pulumi/kubernetes/core/v1";
import { CrossTenantAcrPull, clusterConnection, tenantProviders } from "aks-acr-cross-tenant";

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

// The cluster's own Kubernetes provider, from its user credentials (listClusterUserCredential through tenant A),
// with the settings the delivery relies on; never the ambient KUBECONFIG.
const cluster = clusterConnection("aks", {
    subscriptionId: clusterSubscriptionId,
    resourceGroupName: config.require("clusterResourceGroup"),
    clusterName: config.require("clusterName"),
    azureNative: clusterTenant.azureNative,
});

// A namespace this stack owns; Kubernetes gives it a `default` service account.
const jobs = new Namespace("jobs", { metadata: { name: "jobs" } }, { provider: cluster.provider });

const images = new CrossTenantAcrPull(
    "images",
    {
        clusterTenantId,
        registryTenantId,
        registryIds: config.requireObject<string[]>("registryIds"),
        applicationName: `aks-images-${pulumi.getStack()}`,
        registryTenantProviders: registryTenant,
        imagePullSecret: {
            ...cluster,
            // "apps" exists already; "jobs" is created above, so the existence checks wait for it.
            namespaces: ["apps", "jobs"],
            serviceAccounts: ["default"],
            dependsOn: [jobs],
        },
    },
    { providers: [clusterTenant.azuread, clusterTenant.azureNative] },
);

export const applicationClientId = images.applicationClientId;
export const pullSecrets = images.pullSecrets;
export const registryLoginServers = images.registryLoginServers;
export const secretExpiresAt = images.secretExpiresAt;
