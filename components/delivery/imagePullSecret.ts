/**
 * Delivery as a Kubernetes image pull secret, for every cluster (managed-identity clusters above all): in each
 * namespace a `kubernetes.io/dockerconfigjson` Secret holding the application's client id and secret for every
 * registry's login server, referenced from the `imagePullSecrets` of the listed service accounts.
 *
 * `ServiceAccount.imagePullSecrets` is an atomic list in the Kubernetes API: a server-side-apply patch owns the whole
 * list. With `force` a patch would replace entries others put there, and deleting the patch (which relinquishes its
 * fields) would then remove the whole list, theirs included. So this module never forces: each service account is
 * read first, and one whose list already holds entries of others (and not ours) stops the run with a message naming
 * it, before anything is created; otherwise the patch applies `[ours]` without force, and the API server's own
 * conflict check stays the last line of defence. Removing the delivery relinquishes only what this stack applied.
 *
 * This module loads `@pulumi/kubernetes`; the component loads it only for this delivery.
 */
import * as pulumi from "@pulumi/pulumi";
import { Namespace, Secret, ServiceAccount, ServiceAccountPatch } from "@pulumi/kubernetes/core/v1";
import type { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import { dockerConfigJson } from "./dockerConfig";

/** Where and how to deliver the credentials as an image pull secret. */
export interface ImagePullSecretDelivery {
    /**
     * Kubernetes provider of the cluster. Create it with `clusterKubernetesProvider` (or with the same settings:
     * an explicit `kubeconfig`, `enableServerSideApply: true`, `enablePatchForce: false` and
     * `enableSecretMutable: true`, without which a rotated secret would replace each Secret, deleting it first).
     */
    readonly provider: KubernetesProvider;
    /** Namespaces that get the Secret (DNS-1123 labels, each once). They must exist. */
    readonly namespaces: readonly string[];
    /** Service accounts in each namespace whose `imagePullSecrets` reference the Secret. They must exist. Default `["default"]`. */
    readonly serviceAccounts?: readonly string[];
    /** Name of the Secret in every namespace (a DNS-1123 subdomain). Default `acr-cross-tenant-pull`. */
    readonly secretName?: string;
    /**
     * Resources of the same stack that create the namespaces or service accounts. The existence checks then wait
     * for them (and are skipped by a preview that creates them), instead of failing on objects not created yet.
     */
    readonly dependsOn?: readonly pulumi.CustomResource[];
}

/** What the pull secret carries, from the grant. */
export interface PullCredentials {
    /** Client id of the application: the registry username. */
    readonly clientId: pulumi.Output<string>;
    /** The client secret: the registry password (a Pulumi secret). */
    readonly secret: pulumi.Output<string>;
    /** Registry login servers, one `auths` entry each. */
    readonly loginServers: readonly string[];
}

/** One namespace to deliver to, as read: the namespace and each of its service accounts. */
interface NamespaceTarget {
    readonly read: Namespace;
    /** Keyed by service account name. */
    readonly serviceAccounts: ReadonlyMap<string, ServiceAccount>;
}

/** The checked targets of one delivery: where the Secret goes, under which name, through which provider. */
export interface PullSecretTargets {
    /** Resolves once every namespace and service account exists and none would lose entries. */
    readonly ready: pulumi.Output<void>;
    readonly provider: KubernetesProvider;
    readonly secretName: string;
    /** Keyed by namespace name. */
    readonly namespaces: ReadonlyMap<string, NamespaceTarget>;
}

/** What a delivery declared. */
export interface PullSecretDelivered {
    readonly secrets: readonly Secret[];
    /** `namespace/name` of every Secret. */
    readonly refs: readonly string[];
}

/**
 * The entries of a service account's `imagePullSecrets` that are not ours, when applying `[ours]` would take them
 * over; undefined when the patch is safe (no entries, or ours is already there).
 */
export function entriesAtRisk(live: readonly { readonly name?: string }[] | undefined, secretName: string): string[] | undefined {
    const names = (live ?? []).map((entry) => entry.name ?? "");
    if (names.length === 0 || names.includes(secretName)) {
        return undefined;
    }
    return names;
}

/** Why a service account's list stops the delivery, and what to do. Names no credential. */
export function entriesAtRiskMessage(namespace: string, serviceAccount: string, secretName: string, others: readonly string[]): string {
    return [
        `Service account ${namespace}/${serviceAccount} already lists image pull secrets ${others.map((name) => JSON.stringify(name)).join(", ")}, set by someone else.`,
        `Kubernetes treats imagePullSecrets as one atomic list, so adding "${secretName}" would take the whole list over and removing it later would delete those entries too.`,
        "Nothing was created. Either:",
        `  - add {name: "${secretName}"} to that service account where its list is managed (then this stack leaves its list alone once it holds ours), or`,
        `  - leave ${serviceAccount} out of pullSecretServiceAccounts and reference "${secretName}" in your pods' imagePullSecrets.`,
    ].join("\n");
}

/**
 * Reads every namespace and service account through the cluster's provider (in previews too): a missing one fails
 * the run naming it, and a service account whose list holds entries of others stops it with `entriesAtRiskMessage`.
 */
export function checkPullSecretTargets(
    name: string,
    delivery: ImagePullSecretDelivery,
    secretName: string,
    serviceAccountNames: readonly string[],
    parent: pulumi.Resource,
): PullSecretTargets {
    const provider = delivery.provider;
    // Objects this stack creates are read only once they exist: their ids stay unknown in a preview that creates them.
    const after = pulumi.all((delivery.dependsOn ?? []).map((resource) => resource.id));
    const namespaces = new Map<string, NamespaceTarget>();
    const checks: pulumi.Output<unknown>[] = [];
    for (const namespace of delivery.namespaces) {
        const read = Namespace.get(
            `${name}-${namespace}-namespace`,
            after.apply(() => namespace),
            { parent, provider },
        );
        const serviceAccounts = new Map<string, ServiceAccount>();
        for (const account of serviceAccountNames) {
            const accountRead = ServiceAccount.get(
                `${name}-${namespace}-${account}-service-account`,
                after.apply(() => `${namespace}/${account}`),
                { parent, provider },
            );
            serviceAccounts.set(account, accountRead);
            checks.push(
                accountRead.imagePullSecrets.apply((live) => {
                    const others = entriesAtRisk(live, secretName);
                    if (others !== undefined) {
                        // A diagnostic of its own; the thrown error reaches the engine wrapped in property names.
                        const message = entriesAtRiskMessage(namespace, account, secretName, others);
                        void pulumi.log.error(message, parent);
                        throw new pulumi.RunError(`The image pull secret check failed (see the error above): ${message}`);
                    }
                }),
            );
        }
        namespaces.set(namespace, { read, serviceAccounts });
        checks.push(read.id);
    }
    return { ready: pulumi.all(checks).apply(() => undefined), provider, secretName, namespaces };
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
    const secrets: Secret[] = [];
    for (const [namespace, target] of targets.namespaces) {
        const secret = new Secret(
            `${name}-${namespace}-pull-secret`,
            {
                metadata: {
                    name: secretName,
                    namespace,
                    labels: { "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "aks-acr-cross-tenant" },
                    annotations: { "aks-acr-cross-tenant/application-client-id": credentials.clientId },
                },
                type: "kubernetes.io/dockerconfigjson",
                data: { ".dockerconfigjson": pulumi.secret(document) },
            },
            { parent: opts.parent, provider, dependsOn: [...opts.dependsOn, target.read] },
        );
        secrets.push(secret);
        for (const [account, accountRead] of target.serviceAccounts) {
            new ServiceAccountPatch(
                `${name}-${namespace}-${account}-image-pull-secret`,
                {
                    metadata: { name: account, namespace },
                    // Waits for the check of every target, so no list is touched while another would be at risk.
                    imagePullSecrets: targets.ready.apply(() => [{ name: secretName }]),
                },
                // After the Secret: a pod never references a pull secret that does not exist yet.
                { parent: opts.parent, provider, dependsOn: [secret, accountRead] },
            );
        }
    }
    return { secrets, refs: [...targets.namespaces.keys()].map((namespace) => `${namespace}/${secretName}`) };
}
