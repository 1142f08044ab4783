/**
 * Delivery as a Kubernetes image pull secret, for every cluster (managed-identity clusters above all): in each
 * namespace a `kubernetes.io/dockerconfigjson` Secret holding the application's client id and secret for every
 * registry's login server, referenced from the `imagePullSecrets` of the listed service accounts, or (pod injection)
 * added to every new pod's own list by an admission policy.
 *
 * `ServiceAccount.imagePullSecrets` is an atomic list shared with other tools, so the reference is our own resource
 * (`ServiceAccountPullSecret`), which adds and removes only our entry with guarded JSON patches, never a
 * server-side-apply patch that would own the whole list (`pullSecretReference.ts` says why). A list that another
 * server-side-apply manager owns cannot be shared: the check below stops the run before anything is created,
 * program-side (so `up --skip-preview` is refused as early as a preview) and again in the reference's own check.
 *
 * This module loads `@pulumi/kubernetes`; the component loads it only for this delivery.
 */
import * as pulumi from "@pulumi/pulumi";
import { Namespace, Secret, ServiceAccount } from "@pulumi/kubernetes/core/v1";
import type * as AdmissionRegistrationV1 from "@pulumi/kubernetes/admissionregistration/v1";
import type { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import { dockerConfigJson, type PullSecretTarget } from "./dockerConfig";
import { refuseRun } from "../validation";
import { applyOwnedMessage, blockingApplyOwners, isListed, type ServiceAccountView } from "./pullSecretReference";
import { ServiceAccountPullSecret } from "./serviceAccountPullSecret";
import { checkMutatingAdmissionPolicyApi, podPullSecretBindingSpec, podPullSecretPolicySpec } from "./podPullSecretPolicy";

/** Where and how to deliver the credentials as an image pull secret. */
export interface ImagePullSecretDelivery {
    /**
     * Kubernetes provider of the cluster. Create it with `clusterKubernetesProvider` (or with the same settings:
     * an explicit `kubeconfig`, `enableServerSideApply: true`, `enablePatchForce: false` and
     * `enableSecretMutable: true`, without which a rotated secret would replace each Secret, deleting it first).
     */
    readonly provider: KubernetesProvider;
    /**
     * The kubeconfig that provider uses (kept secret), for the writes the delivery sends itself. `clusterConnection`
     * returns both: spread it, `{ ...clusterConnection("aks", {...}), namespaces }`.
     */
    readonly kubeconfig: pulumi.Input<string>;
    /** Namespaces that get the Secret (DNS-1123 labels, each once). They must exist. */
    readonly namespaces: readonly string[];
    /**
     * Where the Secret is referenced: `serviceAccounts` (default) adds it to the listed service accounts' lists;
     * `pods` adds it to every pod created in the namespaces (a MutatingAdmissionPolicy, Kubernetes 1.36 or later),
     * for service accounts whose lists another tool applies.
     */
    readonly target?: PullSecretTarget;
    /**
     * Service accounts in each namespace whose `imagePullSecrets` reference the Secret (target `serviceAccounts`).
     * They must exist. Default `["default"]`.
     */
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
    /** Resolves once every namespace and service account exists and every list can be shared. */
    readonly ready: pulumi.Output<void>;
    readonly provider: KubernetesProvider;
    /** Secret-wrapped. */
    readonly kubeconfig: pulumi.Output<string>;
    readonly target: PullSecretTarget;
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
 * The message that stops the delivery for a service account as read, or undefined when our entry can be added (or
 * is there already).
 */
export function unshareableMessage(
    namespace: string,
    serviceAccount: string,
    secretName: string,
    live: ServiceAccountView,
): string | undefined {
    if (isListed(live, secretName)) return undefined;
    const owners = blockingApplyOwners(live, secretName);
    return owners.length === 0 ? undefined : applyOwnedMessage(namespace, serviceAccount, secretName, owners);
}

function refuse(message: string, parent: pulumi.Resource): never {
    return refuseRun("image pull secret", message, parent);
}

/**
 * Reads every namespace and service account through the cluster's provider (in previews too): a missing one fails
 * the run naming it, and a service account whose list another server-side-apply manager owns stops it with
 * `applyOwnedMessage`. For pod injection, reads the cluster's discovery: no mutating admission policies, no run.
 */
export function checkPullSecretTargets(
    name: string,
    delivery: ImagePullSecretDelivery,
    secretName: string,
    serviceAccountNames: readonly string[],
    parent: pulumi.Resource,
): PullSecretTargets {
    const provider = delivery.provider;
    const kubeconfig = pulumi.secret(delivery.kubeconfig);
    const target = delivery.target ?? "serviceAccounts";
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
        for (const account of target === "serviceAccounts" ? serviceAccountNames : []) {
            const accountRead = ServiceAccount.get(
                `${name}-${namespace}-${account}-service-account`,
                after.apply(() => `${namespace}/${account}`),
                { parent, provider },
            );
            serviceAccounts.set(account, accountRead);
            // The provider keeps managedFields in a read's outputs (it strips them from inputs only).
            checks.push(
                pulumi.all([accountRead.metadata, accountRead.imagePullSecrets]).apply(([metadata, imagePullSecrets]) => {
                    const live: ServiceAccountView = { metadata: { managedFields: metadata?.managedFields }, imagePullSecrets };
                    const message = unshareableMessage(namespace, account, secretName, live);
                    if (message !== undefined) refuse(message, parent);
                }),
            );
        }
        namespaces.set(namespace, { read, serviceAccounts });
        checks.push(read.id);
    }
    if (target === "pods") {
        checks.push(
            kubeconfig.apply(async (text) => {
                const message = await checkMutatingAdmissionPolicyApi(text);
                if (message !== undefined) refuse(message, parent);
            }),
        );
    }
    // The checks read through the (secret) kubeconfig, which would make everything waiting on them secret, the
    // policy's spec and the references' names too, hidden in previews. What they resolve to is nothing.
    const ready = pulumi.unsecret(pulumi.all(checks).apply(() => undefined));
    return { ready, provider, kubeconfig, target, secretName, namespaces };
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
                        namespace,
                        labels: PART_OF,
                        annotations: { "aks-acr-cross-tenant/application-client-id": credentials.clientId },
                    },
                    type: "kubernetes.io/dockerconfigjson",
                    data: { ".dockerconfigjson": pulumi.secret(document) },
                },
                { parent: opts.parent, provider, dependsOn: [...opts.dependsOn, target.read] },
            ),
    );
    referencePullSecret(name, targets, secrets, opts.parent);
    return { secrets, refs: [...targets.namespaces.keys()].map((namespace) => `${namespace}/${secretName}`) };
}

/** The labels of everything this product puts on a cluster. */
export const PART_OF = { "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "aks-acr-cross-tenant" } as const;

/**
 * Declares the references to the pull secret: each listed service account's entry, after its namespace's
 * `perNamespace` resource (the Secret, or what makes it), or pod injection after all of them.
 */
export function referencePullSecret(
    name: string,
    targets: PullSecretTargets,
    perNamespace: readonly pulumi.Resource[],
    parent: pulumi.Resource,
): void {
    // Waits for the check of every target, so no list is touched while another cannot be shared. One output for all.
    const secretNameWhenReady = targets.ready.apply(() => targets.secretName);
    [...targets.namespaces].forEach(([namespace, target], index) => {
        for (const [account, accountRead] of target.serviceAccounts) {
            new ServiceAccountPullSecret(
                `${name}-${namespace}-${account}-image-pull-secret`,
                { kubeconfig: targets.kubeconfig, namespace, serviceAccount: account, secretName: secretNameWhenReady },
                // After the Secret: a pod never references a pull secret that does not exist yet.
                { parent, dependsOn: [perNamespace[index], accountRead] },
            );
        }
    });
    if (targets.target === "pods") {
        declarePodInjection(name, targets, { parent, dependsOn: perNamespace });
    }
}

/**
 * Pod injection: the policy and its binding, cluster-scoped, after every Secret (a pod never names a Secret that
 * does not exist yet). Pulumi names them (a random suffix), so stacks that share a cluster do not collide.
 */
function declarePodInjection(
    name: string,
    targets: PullSecretTargets,
    opts: { readonly parent: pulumi.Resource; readonly dependsOn: readonly pulumi.Resource[] },
): void {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const admission = require("@pulumi/kubernetes/admissionregistration/v1") as typeof AdmissionRegistrationV1;
    const labels = PART_OF;
    const options = { parent: opts.parent, provider: targets.provider, dependsOn: [...opts.dependsOn] };
    const policy = new admission.MutatingAdmissionPolicy(
        `${name}-pod-pull-secret`,
        { metadata: { labels }, spec: targets.ready.apply(() => podPullSecretPolicySpec(targets.secretName)) },
        options,
    );
    new admission.MutatingAdmissionPolicyBinding(
        `${name}-pod-pull-secret`,
        {
            metadata: { labels },
            spec: policy.metadata.name.apply((policyName) => podPullSecretBindingSpec(policyName, [...targets.namespaces.keys()])),
        },
        options,
    );
}
