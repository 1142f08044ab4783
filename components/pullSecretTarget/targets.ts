/**
 * Where a cluster-side delivery's pull secret goes, shared by `imagePullSecret` and `federatedPullSecret`: the checks
 * of every namespace and service account (and of pod injection) before anything is created, and the references to
 * the Secret once it is declared (`ServiceAccountPullSecret` per service account, or the pod-injection policy).
 *
 * `ServiceAccount.imagePullSecrets` is an atomic list shared with other tools, so the reference is our own resource
 * (`ServiceAccountPullSecret`), which adds and removes only our entry with guarded JSON patches, never a
 * server-side-apply patch that would own the whole list (`pullSecretReference.ts` says why). A list that another
 * server-side-apply manager owns cannot be shared: the check below stops the run before anything is created,
 * program-side (so `up --skip-preview` is refused as early as a preview) and again in the reference's own check.
 *
 * Each check gates only what it guards. A namespace's Secret and references wait for that namespace's reads, and
 * nothing else waits for them but the grant, through one aggregate (`ready`) that holds back its registration and
 * none of its values: so the graph grows linearly with namespaces and service accounts, and what is known in a
 * preview stays known (a check that cannot run yet makes only its own namespace's resources unknown).
 *
 * This module is loaded only by the cluster-side deliveries' declarations, which load `@pulumi/kubernetes`.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as AdmissionRegistrationV1 from "@pulumi/kubernetes/admissionregistration/v1";
import type { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import type { PullSecretTarget } from "./settings";
import { refuseRun } from "../validation";
import {
    APPEARANCE_WAIT_MS,
    readNamespaceTargets,
    readNamespaceTargetsOnceCreated,
    type NamespaceFindings,
} from "./pullSecretTargetChecks";
import { ServiceAccountPullSecret } from "./serviceAccountPullSecret";
import { ServiceAccountPullSecretProvider } from "./serviceAccountPullSecretProvider";
import { checkMutatingAdmissionPolicyApi, podPullSecretBindingSpec, podPullSecretPolicySpec } from "./podPullSecretPolicy";

export { unshareableMessage } from "./pullSecretTargetChecks";

/**
 * Where a cluster-side delivery puts its pull secret: the cluster, the namespaces, where the Secret is referenced and
 * under which name. Both cluster-side deliveries take these (`ImagePullSecretDelivery`, `FederatedPullSecretDelivery`).
 */
export interface PullSecretTargetArgs {
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
     * for them in `up`; a preview that creates them leaves what it cannot read yet unknown instead of failing on
     * objects not created yet. Every Secret and reference depends on each of them: list only what the delivery needs.
     */
    readonly dependsOn?: readonly pulumi.CustomResource[];
}

/** One namespace to deliver to, once checked. */
export interface NamespaceTarget {
    /**
     * The namespace's name, once it and its service accounts were read and every list can be shared: what its Secret
     * and references are declared in, so they wait for these checks and no other. Unknown only in a preview that
     * cannot read them yet (the cluster or the namespace is being created).
     */
    readonly checked: pulumi.Output<string>;
    /** The service accounts whose lists get the entry (none for pod injection). */
    readonly serviceAccounts: readonly string[];
    /** Whether our entry was listed in each service account as read, keyed by name (known when `checked` is). */
    readonly listed: pulumi.Output<Readonly<Record<string, boolean>>>;
}

/** The checked targets of one delivery: where the Secret goes, under which name, through which provider. */
export interface PullSecretTargets {
    /**
     * Resolves once every check of the delivery passed: for the grant alone, which holds back its registration on it
     * (so a refusal comes before anything is created) without taking any value from it.
     */
    readonly ready: pulumi.Output<void>;
    /** Resolves once the cluster serves mutating admission policies (pod injection); undefined otherwise. */
    readonly podInjection?: pulumi.Output<void>;
    readonly provider: KubernetesProvider;
    /** Secret-wrapped. */
    readonly kubeconfig: pulumi.Output<string>;
    readonly target: PullSecretTarget;
    readonly secretName: string;
    /** Keyed by namespace name. */
    readonly namespaces: ReadonlyMap<string, NamespaceTarget>;
}

function refuse(message: string, parent: pulumi.Resource): never {
    return refuseRun("image pull secret", message, parent);
}

/**
 * Checks every namespace and service account through the cluster's kubeconfig (in previews too), each namespace on
 * its own: a missing one fails the run naming it, and a service account whose list another server-side-apply
 * manager owns stops it with `applyOwnedMessage`. For pod injection, reads the cluster's discovery: no mutating
 * admission policies, no run.
 */
export function checkPullSecretTargets(
    // Kept for callers and for what a check may need to name; the reads are no resources now, so nothing is named.
    _name: string,
    delivery: PullSecretTargetArgs,
    secretName: string,
    serviceAccountNames: readonly string[],
    parent: pulumi.Resource,
): PullSecretTargets {
    const provider = delivery.provider;
    const kubeconfig = pulumi.secret(delivery.kubeconfig);
    const target = delivery.target ?? "serviceAccounts";
    const accounts = target === "serviceAccounts" ? serviceAccountNames : [];
    const created = delivery.dependsOn ?? [];
    // Objects this stack creates are read only once they exist: in `up`, after every one of them.
    const after = pulumi.all(created.map((resource) => resource.id));
    const settle = (found: NamespaceFindings): NamespaceFindings => {
        const problems = [...found.missing, ...found.refusals];
        if (problems.length > 0) refuse(problems.join("\n"), parent);
        return found;
    };
    const namespaces = new Map<string, NamespaceTarget>();
    for (const namespace of delivery.namespaces) {
        const read = (text: string): Promise<NamespaceFindings> => readNamespaceTargets(text, namespace, accounts, secretName);
        const checked = pulumi.runtime.isDryRun()
            ? // A preview creates nothing, so it reads at once. What is missing may be what `dependsOn` is about to
              // create: an error only when none of it is pending (its ids known), else unknown, for this namespace.
              kubeconfig.apply(async (text) => {
                  const found = await read(text);
                  if (found.refusals.length > 0 || found.missing.length === 0 || created.length === 0) {
                      return settle(found);
                  }
                  return after.apply(() => settle(found));
              })
            : // `up` reads once everything in `dependsOn` exists, and gives what those create a moment to appear.
              pulumi
                  .all([kubeconfig, after])
                  .apply(async ([text]) =>
                      settle(
                          await readNamespaceTargetsOnceCreated(
                              text,
                              namespace,
                              accounts,
                              secretName,
                              created.length > 0 ? APPEARANCE_WAIT_MS : 0,
                          ),
                      ),
                  );
        // The reads went through the (secret) kubeconfig; what they resolve to (the namespace's name, what is listed)
        // previews must show, not hide.
        const found = pulumi.unsecret(pulumi.output(checked));
        namespaces.set(namespace, {
            checked: found.apply(() => namespace),
            listed: found.apply((findings) => findings.listed),
            serviceAccounts: accounts,
        });
    }
    const podInjection =
        target === "pods"
            ? pulumi.unsecret(
                  kubeconfig.apply(async (text) => {
                      const message = await checkMutatingAdmissionPolicyApi(text);
                      if (message !== undefined) refuse(message, parent);
                  }),
              )
            : undefined;
    const checks: pulumi.Output<unknown>[] = [...[...namespaces.values()].map((namespace) => namespace.checked)];
    if (podInjection !== undefined) checks.push(podInjection);
    const ready = pulumi.all(checks).apply(() => undefined);
    return { ready, podInjection, provider, kubeconfig, target, secretName, namespaces };
}

/** The labels of everything this product puts on a cluster. */
export const PART_OF = { "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "aks-acr-cross-tenant" } as const;

/**
 * Declares the references to the pull secret: each listed service account's entry, after its namespace's
 * `perNamespace` resource (the Secret, or what makes it) and its namespace's checks, through one provider for the
 * cluster; or pod injection after all of them.
 */
export function referencePullSecret(
    name: string,
    targets: PullSecretTargets,
    perNamespace: readonly pulumi.Resource[],
    parent: pulumi.Resource,
): void {
    const namespaces = [...targets.namespaces];
    if (namespaces.some(([, target]) => target.serviceAccounts.length > 0)) {
        // One provider resource, and so one provider process and one connection, for every reference. It waits for
        // every check, as the grant does: a refused run leaves not even it behind.
        const provider = new ServiceAccountPullSecretProvider(
            `${name}-references`,
            { kubeconfig: targets.kubeconfig },
            { parent, dependsOn: targets.ready.apply(() => []) },
        );
        namespaces.forEach(([namespace, target], index) => {
            for (const account of target.serviceAccounts) {
                new ServiceAccountPullSecret(
                    `${name}-${namespace}-${account}-image-pull-secret`,
                    // Its namespace's checks only; the grant, which its Secret waits for, waited for all of them.
                    {
                        namespace: target.checked,
                        serviceAccount: account,
                        secretName: targets.secretName,
                        // What the check read moments ago: the provider need not read it again, and sees a gone entry.
                        listedWhenRead: target.listed.apply((listed) => listed[account] ?? false),
                    },
                    // After the Secret: a pod never references a pull secret that does not exist yet.
                    { parent, provider, dependsOn: [perNamespace[index]] },
                );
            }
        });
    }
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
        // Waits for the discovery read that says the cluster serves it; the namespaces' checks come with the Secrets.
        {
            metadata: { labels },
            spec: (targets.podInjection ?? pulumi.output(undefined)).apply(() => podPullSecretPolicySpec(targets.secretName)),
        },
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
