/**
 * Delivery as a Kubernetes image pull secret, for every cluster (managed-identity clusters above all): in each
 * namespace a `kubernetes.io/dockerconfigjson` Secret holding the application's client id and secret for every
 * registry's login server, referenced from the `imagePullSecrets` of the listed service accounts, or (pod injection)
 * added to every new pod's own list by an admission policy (`../../pullSecretTarget/targets.ts`, shared with the
 * federated delivery).
 *
 * This module loads `@pulumi/kubernetes`; the component loads it only for this delivery.
 */
import * as pulumi from "@pulumi/pulumi";
import { Secret } from "@pulumi/kubernetes/core/v1";
import { dockerConfigJson } from "./dockerConfig";
import { PART_OF, referencePullSecret, type PullSecretTargetArgs, type PullSecretTargets } from "../../pullSecretTarget/targets";

export { checkPullSecretTargets } from "../../pullSecretTarget/targets";

/** Where and how to deliver the credentials as an image pull secret. */
export type ImagePullSecretDelivery = PullSecretTargetArgs;

/** What the pull secret carries, from the grant. */
export interface PullCredentials {
    /** Client id of the application: the registry username. */
    readonly clientId: pulumi.Output<string>;
    /** The client secret: the registry password (a Pulumi secret). */
    readonly secret: pulumi.Output<string>;
    /** Registry login servers, one `auths` entry each. */
    readonly loginServers: readonly string[];
}

/** What a delivery declared. */
export interface PullSecretDelivered {
    readonly secrets: readonly Secret[];
    /** `namespace/name` of every Secret. */
    readonly refs: readonly string[];
}

/**
 * Declares the Secret in every namespace and the reference from every service account. The Secret's data is a
 * Pulumi secret; it changes in place when the client secret rotates (the provider must allow mutable Secrets).
 */
export function deliverPullSecret(
    name: string,
    targets: PullSecretTargets,
    credentials: PullCredentials,
    opts: { readonly parent: pulumi.Resource; readonly dependsOn: readonly pulumi.Resource[] },
): PullSecretDelivered {
    const { provider, secretName } = targets;
    const document = pulumi
        .all([credentials.clientId, credentials.secret])
        .apply(([clientId, secret]) =>
            Buffer.from(dockerConfigJson(credentials.loginServers, clientId, secret), "utf8").toString("base64"),
        );
    const secrets = [...targets.namespaces].map(
        ([namespace, target]) =>
            new Secret(
                `${name}-${namespace}-pull-secret`,
                {
                    metadata: {
                        name: secretName,
                        // Waits for this namespace's checks, and only for them.
                        namespace: target.checked,
                        labels: PART_OF,
                        annotations: { "aks-acr-cross-tenant/application-client-id": credentials.clientId },
                    },
                    type: "kubernetes.io/dockerconfigjson",
                    data: { ".dockerconfigjson": pulumi.secret(document) },
                },
                { parent: opts.parent, provider, dependsOn: [...opts.dependsOn] },
            ),
    );
    referencePullSecret(name, targets, secrets, opts.parent);
    return { secrets, refs: [...targets.namespaces.keys()].map((namespace) => `${namespace}/${secretName}`) };
}
