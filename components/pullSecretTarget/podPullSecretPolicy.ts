/**
 * Pod injection: the image pull secret added to the `imagePullSecrets` of every pod created in the listed
 * namespaces, by a `MutatingAdmissionPolicy` and its binding (`admissionregistration.k8s.io/v1`, GA in Kubernetes
 * 1.36), for service accounts whose lists another tool applies.
 *
 * `Pod.spec.imagePullSecrets` is a map list keyed by `name`, so our entry sits beside the pod's own. Its entries are
 * atomic structs (`LocalObjectReference`), which a policy's `ApplyConfiguration` may not set (the API server answers
 * "may not mutate atomic arrays, maps or structs"), so the policy sends a JSON patch that appends our entry, and
 * only to a pod that lacks it (a match condition). The API server's `ServiceAccount` admission plugin, which copies
 * the service account's entries into a pod that has none, runs before the policy, so a pod keeps those too. The policy runs inside the
 * API server (CEL, no webhook to be down), so it fails closed: a pod it cannot mutate is refused, loudly, instead of
 * starting without the secret.
 *
 * The specs are pure; `checkMutatingAdmissionPolicyApi` reads the cluster's discovery (`apiDiscovery.ts`), in
 * previews too.
 */
import { discoverApiResources } from "./apiDiscovery";

/** The API group and version the policy and binding are written in. */
export const ADMISSION_POLICY_API = "admissionregistration.k8s.io/v1";
/** The first Kubernetes version that serves `ADMISSION_POLICY_API` mutating admission policies (enabled by default). */
export const ADMISSION_POLICY_MIN_KUBERNETES = "1.36";

/**
 * The policy's spec: on every pod CREATE that does not name `secretName` yet, append `{name: secretName}` to
 * `spec.imagePullSecrets` (creating the list when the pod has none).
 */
export function podPullSecretPolicySpec(secretName: string): Record<string, unknown> {
    // secretName is a checked DNS-1123 subdomain: no quote or backslash can reach the CEL strings.
    const entry = `Object.spec.imagePullSecrets{name: "${secretName}"}`;
    return {
        matchConstraints: {
            resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] }],
        },
        matchConditions: [
            {
                name: "lacks-pull-secret",
                expression: `!has(object.spec.imagePullSecrets) || !object.spec.imagePullSecrets.exists(s, s.name == "${secretName}")`,
            },
        ],
        failurePolicy: "Fail",
        reinvocationPolicy: "IfNeeded",
        mutations: [
            {
                patchType: "JSONPatch",
                jsonPatch: {
                    expression: [
                        "has(object.spec.imagePullSecrets)",
                        `? [JSONPatch{op: "add", path: "/spec/imagePullSecrets/-", value: ${entry}}]`,
                        `: [JSONPatch{op: "add", path: "/spec/imagePullSecrets", value: [${entry}]}]`,
                    ].join(" "),
                },
            },
        ],
    };
}

/** The binding's spec: the policy, for pods in exactly the listed namespaces. */
export function podPullSecretBindingSpec(policyName: string, namespaces: readonly string[]): Record<string, unknown> {
    return {
        policyName,
        matchResources: {
            namespaceSelector: {
                matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [...namespaces] }],
            },
        },
    };
}

/** Why a cluster cannot take pod injection, and what to do. */
export function admissionPolicyMissingMessage(serverVersion: string | undefined): string {
    return [
        `The cluster${serverVersion ? ` (Kubernetes ${serverVersion})` : ""} does not serve mutatingadmissionpolicies in ${ADMISSION_POLICY_API}, which pod injection (pullSecretTarget: pods) writes.`,
        `It needs Kubernetes ${ADMISSION_POLICY_MIN_KUBERNETES} or later. Nothing was created. Upgrade the cluster, or deliver to service accounts (pullSecretTarget: serviceAccounts).`,
    ].join("\n");
}

/**
 * Reads the cluster's discovery of `ADMISSION_POLICY_API`: undefined when mutating admission policies are served,
 * otherwise the message naming the version needed.
 */
export async function checkMutatingAdmissionPolicyApi(kubeconfig: string): Promise<string | undefined> {
    const found = await discoverApiResources(kubeconfig, [{ groupVersion: ADMISSION_POLICY_API, resource: "mutatingadmissionpolicies" }]);
    if (found.failure !== undefined) return `${found.failure} Pod injection needs it.`;
    return found.missing.length === 0 ? undefined : admissionPolicyMissingMessage(found.serverVersion);
}
