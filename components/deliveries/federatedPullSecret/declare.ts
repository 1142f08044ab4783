/**
 * Delivery with no secret at all: registry tokens minted in the cluster by External Secrets Operator from a
 * federated credential (`externalSecrets.ts` has the chain and ESO's source for each link). Per target namespace:
 * the minting service account, annotated with the application's client id and tenant B; one `ACRAccessToken` per
 * registry; an `ExternalSecret` writing the `kubernetes.io/dockerconfigjson` Secret; and the references of the image
 * pull secret delivery (service accounts or pod injection) naming that Secret. The grant gives the application one
 * federated identity credential per namespace instead of a password.
 *
 * Checked before anything is created, in previews too: the cluster's OIDC issuer (read through tenant A), ESO's
 * resources at the versions written (the cluster's discovery), the namespaces and service accounts.
 *
 * This module loads `@pulumi/kubernetes`; the component loads it only for the cluster-side deliveries.
 */
import * as pulumi from "@pulumi/pulumi";
import { ServiceAccount } from "@pulumi/kubernetes/core/v1";
import { CustomResource } from "@pulumi/kubernetes/apiextensions";
import { getManagedClusterOutput } from "@pulumi/azure-native/containerservice";
import type { AzureEnvironment } from "../../azureIds";
import { refuseRun } from "../../validation";
import { discoverApiResources } from "../../pullSecretTarget/apiDiscovery";
import {
    ESO_API_RESOURCES,
    EXTERNAL_SECRET_API,
    GENERATOR_API,
    acrAccessTokenSpec,
    esoMissingMessage,
    externalSecretSpec,
    generatorName,
    minterAnnotations,
    oidcIssuerMissingMessage,
} from "./externalSecrets";
import {
    PART_OF,
    checkPullSecretTargets,
    referencePullSecret,
    type PullSecretTargetArgs,
    type PullSecretTargets,
} from "../../pullSecretTarget/targets";

/** Where and how to mint and deliver: where the pull secret goes (as for an image pull secret), and the cluster to trust. */
export interface FederatedPullSecretDelivery extends PullSecretTargetArgs {
    /**
     * The AKS cluster whose OIDC issuer the federated credentials trust, read through the component's (tenant A)
     * azure-native provider, whose subscription must be the cluster's. Its OIDC issuer must be enabled.
     */
    readonly cluster: { readonly resourceGroupName: string; readonly clusterName: string };
    /** The service account ESO mints with, created in every namespace. Default `acr-token-minter`. */
    readonly minterServiceAccount?: string;
    /** How often ESO mints a new token, 5m to 2h. Default `1h` (a token lives about three hours). */
    readonly refreshInterval?: string;
}

/** The checked targets, the cluster's OIDC issuer, and the readiness of every check. */
export interface FederatedTargets {
    readonly targets: PullSecretTargets;
    /** The cluster's OIDC issuer URL, exactly as AKS reports it (the tokens' `iss`). */
    readonly issuer: pulumi.Output<string>;
}

function refuse(message: string, parent: pulumi.Resource): never {
    return refuseRun("federated pull secret", message, parent);
}

/**
 * Reads the cluster's OIDC issuer through `parent`'s azure-native provider (in previews too); a cluster without
 * one stops the run naming `az aks update --enable-oidc-issuer`.
 */
export function readOidcIssuer(cluster: FederatedPullSecretDelivery["cluster"], parent: pulumi.Resource): pulumi.Output<string> {
    return getManagedClusterOutput({ resourceGroupName: cluster.resourceGroupName, resourceName: cluster.clusterName }, { parent }).apply(
        (found) => {
            const profile = found.oidcIssuerProfile;
            if (profile?.enabled !== true || !profile.issuerURL) {
                refuse(oidcIssuerMissingMessage(cluster.resourceGroupName, cluster.clusterName), parent);
            }
            return profile.issuerURL;
        },
    );
}

/** The image pull secret delivery's checks, the OIDC issuer, and ESO's resources in the cluster's discovery. */
export function checkFederatedTargets(
    name: string,
    delivery: FederatedPullSecretDelivery,
    secretName: string,
    serviceAccountNames: readonly string[],
    parent: pulumi.Resource,
): FederatedTargets {
    const base = checkPullSecretTargets(name, delivery, secretName, serviceAccountNames, parent);
    return withEsoCheck(base, readOidcIssuer(delivery.cluster, parent), parent);
}

/**
 * The targets, once the cluster's discovery shows ESO's resources at the versions written and the issuer is read.
 * The rig's test stack calls this with an issuer of its own, where there is no AKS to read it from.
 */
export function withEsoCheck(base: PullSecretTargets, issuer: pulumi.Output<string>, parent: pulumi.Resource): FederatedTargets {
    const eso = base.kubeconfig.apply(async (kubeconfig) => {
        const found = await discoverApiResources(kubeconfig, ESO_API_RESOURCES);
        if (found.failure !== undefined)
            refuse(`${found.failure} The federated delivery reads it to find External Secrets Operator.`, parent);
        if (found.missing.length > 0) refuse(esoMissingMessage(found.missing), parent);
    });
    const ready = pulumi.unsecret(pulumi.all([base.ready, issuer, eso]).apply(() => undefined));
    return { targets: { ...base, ready }, issuer };
}

/** What the grant gives the cluster side. */
export interface FederatedGrant {
    readonly clientId: pulumi.Output<string>;
    readonly registryTenantId: string;
    readonly environment: AzureEnvironment;
    readonly registries: readonly { readonly registryName: string; readonly loginServer: string }[];
}

/** What the federated delivery declared. */
export interface FederatedDelivered {
    readonly externalSecrets: readonly CustomResource[];
    /** `namespace/name` of every Secret ESO writes. */
    readonly refs: readonly string[];
}

/**
 * Declares the minting service account, the generators and the `ExternalSecret` in every namespace, then the
 * references. `opts.dependsOn` is the grant's readiness (principals, roles, federated credentials).
 */
export function deliverFederatedPullSecret(
    name: string,
    checked: FederatedTargets,
    grant: FederatedGrant,
    settings: { readonly minter: string; readonly refreshInterval: string },
    opts: { readonly parent: pulumi.Resource; readonly dependsOn: readonly pulumi.Resource[] },
): FederatedDelivered {
    const { targets } = checked;
    const { provider, secretName } = targets;
    const externalSecrets: CustomResource[] = [];
    for (const [namespace, target] of targets.namespaces) {
        const options = { parent: opts.parent, provider };
        const minter = new ServiceAccount(
            `${name}-${namespace}-token-minter`,
            {
                metadata: {
                    name: settings.minter,
                    // Waits for this namespace's checks, and only for them.
                    namespace: target.checked,
                    labels: PART_OF,
                    annotations: grant.clientId.apply((clientId) => minterAnnotations(clientId, grant.registryTenantId)),
                },
                // ESO requests its tokens with the TokenRequest API; nothing mounts one.
                automountServiceAccountToken: false,
            },
            { ...options, dependsOn: [...opts.dependsOn] },
        );
        const generators = grant.registries.map(
            (registry) =>
                new CustomResource(
                    `${name}-${namespace}-${registry.registryName.toLowerCase()}-token`,
                    {
                        apiVersion: GENERATOR_API,
                        kind: "ACRAccessToken",
                        metadata: { name: generatorName(registry.registryName), namespace, labels: PART_OF },
                        spec: acrAccessTokenSpec(registry.loginServer, grant.registryTenantId, grant.environment, settings.minter),
                    },
                    { ...options, dependsOn: [minter] },
                ),
        );
        externalSecrets.push(
            new CustomResource(
                `${name}-${namespace}-pull-secret`,
                {
                    apiVersion: EXTERNAL_SECRET_API,
                    kind: "ExternalSecret",
                    metadata: {
                        name: secretName,
                        namespace,
                        labels: PART_OF,
                        // `up` waits until ESO has written the Secret (Ready), so whatever comes after it, such as
                        // deleting an earlier delivery's Secret, never leaves pods without one.
                        annotations: { "pulumi.com/waitFor": "condition=Ready" },
                    },
                    spec: externalSecretSpec(
                        secretName,
                        grant.registries.map((registry) => ({
                            loginServer: registry.loginServer,
                            generator: generatorName(registry.registryName),
                        })),
                        settings.refreshInterval,
                    ),
                },
                { ...options, dependsOn: generators },
            ),
        );
    }
    referencePullSecret(name, targets, externalSecrets, opts.parent);
    return { externalSecrets, refs: [...targets.namespaces.keys()].map((namespace) => `${namespace}/${secretName}`) };
}
