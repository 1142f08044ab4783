/**
 * The stack config keys and argument checks both cluster-side deliveries (`imagePullSecret`, `federatedPullSecret`)
 * share: the cluster's kubeconfig, the namespaces, where the pull secret is referenced and its name. Light: no SDK.
 */
import type * as pulumi from "@pulumi/pulumi";
import { ENCRYPTED_VALUE, type ConfigKeyGroup, type ConfigReader, type ProgramCluster } from "../configKeys";
import { DNS1123_LABEL_FORM, DNS1123_SUBDOMAIN_FORM } from "../kubernetesNames";
import { checkKubernetesName, checkKubernetesNames, show, type Problem } from "../validation";
import {
    DEFAULT_PULL_SECRET_NAME,
    DEFAULT_PULL_SECRET_SERVICE_ACCOUNTS,
    PULL_SECRET_TARGETS,
    PULL_SECRET_TARGET_FORM,
    type PullSecretTarget,
} from "./settings";
import type { PullSecretTargetArgs } from "./targets";
import { clusterConnection } from "./kubernetesProvider";

/** The shared keys' settings. */
export interface PullSecretTargetSettings {
    readonly namespaces: readonly string[];
    /** Where the secret is referenced: the service accounts, or every new pod. */
    readonly target: PullSecretTarget;
    readonly serviceAccounts: readonly string[];
    readonly secretName: string;
    /** Secret-wrapped; absent means the cluster's user credentials. */
    readonly kubeconfig?: pulumi.Output<string>;
}

/** A kubeconfig's contents, not a path or a stray string: it names clusters and users. Never shown. */
function looksLikeKubeconfig(text: string): boolean {
    const hasKey = (key: string): boolean => new RegExp(`^\\s*${key}\\s*:`, "m").test(text) || text.includes(`"${key}"`);
    return hasKey("clusters") && hasKey("users");
}

const KEYS = {
    pullSecretNamespaces: {
        type: "array",
        required: false,
        default: [],
        form: `a list of namespaces that get the pull secret, each ${DNS1123_LABEL_FORM}`,
        description: "the namespaces that get the pull secret (required, each a DNS-1123 label; at most 20 with federatedPullSecret).",
    },
    pullSecretTarget: {
        type: "string",
        required: false,
        default: "serviceAccounts",
        form: PULL_SECRET_TARGET_FORM,
        description:
            "where the secret is referenced - serviceAccounts (add it to the imagePullSecrets of pullSecretServiceAccounts, keeping others' entries) or pods (a MutatingAdmissionPolicy adds it to every new pod in pullSecretNamespaces; Kubernetes 1.36 or later).",
    },
    pullSecretServiceAccounts: {
        type: "array",
        required: false,
        default: DEFAULT_PULL_SECRET_SERVICE_ACCOUNTS,
        form: `a list of service accounts in each of those namespaces that reference the pull secret, each ${DNS1123_SUBDOMAIN_FORM}`,
        description: "the service accounts in each namespace whose imagePullSecrets reference the secret.",
    },
    pullSecretName: {
        type: "string",
        required: false,
        default: DEFAULT_PULL_SECRET_NAME,
        form: `the pull secret's name, ${DNS1123_SUBDOMAIN_FORM}`,
        description: "the name of the pull secret in every namespace.",
    },
    kubeconfig: {
        type: "string",
        required: false,
        default: "",
        secret: true,
        form: "the contents of a kubeconfig for the cluster (not a path), set with `pulumi config set --secret kubeconfig < <file>`; empty means the cluster's user credentials, read through Azure",
        description:
            "the contents of a kubeconfig for the cluster (pulumi config set --secret kubeconfig < file). Empty means the cluster's user credentials, read through Azure (listClusterUserCredential).",
    },
} as const;

/** The shared keys, read once whichever delivery is chosen. */
export const PULL_SECRET_TARGET_KEYS: ConfigKeyGroup<PullSecretTargetSettings> = {
    keys: KEYS,
    read(read: ConfigReader, problems: Problem[], chosen: boolean): PullSecretTargetSettings {
        const namespaces = checkKubernetesNames(
            "pullSecretNamespaces",
            read.list("pullSecretNamespaces", false),
            "label",
            chosen,
            problems,
        );
        const target = read.text("pullSecretTarget");
        if (!(PULL_SECRET_TARGETS as readonly string[]).includes(target)) {
            problems.push({ key: "pullSecretTarget", value: show(target), expected: PULL_SECRET_TARGET_FORM });
        }
        if (target === "pods" && read.isSetOffDefault("pullSecretServiceAccounts")) {
            problems.push({
                key: "pullSecretServiceAccounts",
                value: read.raw("pullSecretServiceAccounts"),
                expected: "no service accounts with pullSecretTarget pods: every new pod in the namespaces gets the secret; remove the key",
            });
        }
        const serviceAccounts = checkKubernetesNames(
            "pullSecretServiceAccounts",
            read.list("pullSecretServiceAccounts", false),
            "subdomain",
            false,
            problems,
        );
        const secretName = read.text("pullSecretName");
        checkKubernetesName("pullSecretName", secretName, problems);
        const kubeconfig = read.present("kubeconfig");
        if (kubeconfig !== undefined && kubeconfig !== ENCRYPTED_VALUE && !looksLikeKubeconfig(kubeconfig)) {
            problems.push({
                key: "kubeconfig",
                value: "a secret (value hidden) that is not a kubeconfig",
                expected: KEYS.kubeconfig.form,
            });
        }
        return {
            namespaces,
            target: target as PullSecretTarget,
            serviceAccounts: target === "pods" ? [] : serviceAccounts,
            secretName,
            kubeconfig: kubeconfig === undefined ? undefined : read.secret(kubeconfig),
        };
    },
};

/** The pull-secret target arguments with their defaults applied. */
export interface CheckedPullSecretTarget<A extends PullSecretTargetArgs = PullSecretTargetArgs> {
    readonly delivery: A;
    readonly secretName: string;
    readonly serviceAccounts: readonly string[];
}

/**
 * Checks a cluster-side delivery's target arguments: a provider and its kubeconfig, namespaces, where the reference
 * goes, service accounts and the Secret's name.
 */
export function checkPullSecretTargetArgs<A extends PullSecretTargetArgs>(
    key: string,
    delivery: A,
    problems: Problem[],
): CheckedPullSecretTarget<A> {
    if (typeof delivery.provider !== "object" || delivery.provider === null) {
        problems.push({
            key: `${key}.provider`,
            value: undefined,
            expected: "the cluster's Kubernetes provider (spread clusterConnection: { ...clusterConnection(...), namespaces })",
        });
    }
    if (delivery.kubeconfig === undefined || delivery.kubeconfig === null || delivery.kubeconfig === "") {
        problems.push({
            key: `${key}.kubeconfig`,
            value: undefined,
            expected: "the kubeconfig of that provider (clusterConnection returns both)",
        });
    }
    checkKubernetesNames(`${key}.namespaces`, delivery.namespaces ?? [], "label", true, problems);
    const target = delivery.target ?? "serviceAccounts";
    if (!(PULL_SECRET_TARGETS as readonly string[]).includes(target)) {
        problems.push({ key: `${key}.target`, value: show(target), expected: PULL_SECRET_TARGET_FORM });
    }
    if (target === "pods" && delivery.serviceAccounts !== undefined && delivery.serviceAccounts.length > 0) {
        problems.push({
            key: `${key}.serviceAccounts`,
            value: show(delivery.serviceAccounts),
            expected: "no service accounts with target pods: every pod in the namespaces gets the secret",
        });
    }
    const serviceAccounts = target === "pods" ? [] : (delivery.serviceAccounts ?? DEFAULT_PULL_SECRET_SERVICE_ACCOUNTS);
    checkKubernetesNames(`${key}.serviceAccounts`, serviceAccounts, "subdomain", false, problems);
    const secretName = delivery.secretName ?? DEFAULT_PULL_SECRET_NAME;
    checkKubernetesName(`${key}.secretName`, secretName, problems);
    return { delivery, secretName, serviceAccounts };
}

/** The target arguments the program gives a cluster-side delivery: the cluster's connection and the shared keys. */
export function pullSecretTargetArgs(settings: PullSecretTargetSettings, cluster: ProgramCluster): PullSecretTargetArgs {
    return {
        ...clusterConnection("cluster-kubernetes", {
            subscriptionId: cluster.subscriptionId,
            resourceGroupName: cluster.resourceGroupName,
            clusterName: cluster.clusterName,
            kubeconfig: settings.kubeconfig,
            azureNative: cluster.azureNative,
        }),
        namespaces: settings.namespaces,
        target: settings.target,
        serviceAccounts: settings.serviceAccounts,
        secretName: settings.secretName,
    };
}
