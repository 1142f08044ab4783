/**
 * What the pull secret reference does at deploy time: the dynamic provider's methods. Check reads the live service
 * account (in previews too) and refuses what cannot work; create adds our entry or adopts one already there; read
 * reports whether it is still listed, so a refresh shows a removed entry as drift; update puts it back; delete
 * removes only an entry this resource added.
 *
 * Runs inside Pulumi's dynamic provider host, shipped as source text with `pullSecretReference` and
 * `pullSecretReferenceRuntime` (see `reset/runtimeSource.ts`): it may import only those, packages and Node
 * built-ins. The kubeconfig arrives as a (secret) input and goes nowhere but the Kubernetes client.
 */
import type * as pulumi from "@pulumi/pulumi";
import { isListed } from "./pullSecretReference";
import * as runtime from "./pullSecretReferenceRuntime";

/** The inputs, and the state: the inputs plus what the provider found. */
export interface PullSecretReferenceState {
    /** The cluster's kubeconfig (secret). */
    readonly kubeconfig: string;
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly secretName: string;
    /** True when this resource added the entry (only then does delete remove it); false when it adopted one. */
    readonly added?: boolean;
    /** Whether the entry was listed when last created, updated or read. */
    readonly listed?: boolean;
}

/** What the engine sends for a value not known yet (a preview of a stack that computes it). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const IDENTITY = ["namespace", "serviceAccount", "secretName"] as const;

function targetOf(state: PullSecretReferenceState): runtime.ReferenceTarget {
    return { namespace: state.namespace, serviceAccount: state.serviceAccount, secretName: state.secretName };
}

function idOf(state: PullSecretReferenceState): string {
    return `${state.namespace}/${state.serviceAccount}/${state.secretName}`;
}

/** A message for the engine: the error's own for ours, Kubernetes' reason otherwise; never the kubeconfig. */
function messageOf(error: unknown, kubeconfig: string): string {
    const message = error instanceof Error ? error.message : String(error);
    return kubeconfig && message.includes(kubeconfig) ? "the Kubernetes client failed (its message held the kubeconfig)" : message;
}

/**
 * The error the engine gets: a fresh one with only the message, deliberately without the client's error as its
 * cause, whose request details the host could print.
 */
function engineError(error: unknown, kubeconfig: string): Error {
    return new Error(messageOf(error, kubeconfig));
}

/** The dynamic provider's methods, all implemented. */
export type PullSecretReferenceProvider = Required<
    Pick<
        pulumi.dynamic.ResourceProvider<PullSecretReferenceState, PullSecretReferenceState>,
        "check" | "diff" | "create" | "read" | "update" | "delete"
    >
>;

export const pullSecretReferenceProvider: PullSecretReferenceProvider = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        for (const key of ["kubeconfig", ...IDENTITY] as const) {
            if (typeof news[key] !== "string" || news[key] === "") {
                failures.push({ property: key, reason: `${key} is required` });
            }
        }
        if (failures.length > 0 || [news.kubeconfig, ...IDENTITY.map((key) => news[key])].includes(UNKNOWN)) {
            return { inputs: news, failures };
        }
        // Previews run this too: what up would refuse, the preview refuses first.
        try {
            const api = runtime.coreV1Api(news.kubeconfig);
            const target = targetOf(news);
            const live = await runtime.readServiceAccount(api, target);
            if (live === undefined) {
                failures.push({ property: "serviceAccount", reason: runtime.notFoundMessage(target) });
            } else if (!isListed(live, news.secretName)) {
                runtime.assertShareable(live, target);
            }
        } catch (error) {
            failures.push({ property: "serviceAccount", reason: messageOf(error, news.kubeconfig) });
        }
        return { inputs: news, failures };
    },

    diff(_id, olds, news) {
        const replaces = IDENTITY.filter((key) => olds[key] !== news[key]);
        // A refresh that found our entry gone shows as a change; the update puts it back.
        const drifted = olds.listed === false;
        const changes = replaces.length > 0 || drifted || olds.kubeconfig !== news.kubeconfig;
        // The new entry is added before the old one is removed, so pods never lack a reference.
        return Promise.resolve({ changes, replaces, deleteBeforeReplace: false });
    },

    async create(inputs) {
        try {
            const result = await runtime.addReference(runtime.coreV1Api(inputs.kubeconfig), targetOf(inputs));
            return { id: idOf(inputs), outs: { ...inputs, added: result.added, listed: true } };
        } catch (error) {
            throw engineError(error, inputs.kubeconfig);
        }
    },

    async read(id, props) {
        if (props === undefined) {
            return { id, props };
        }
        try {
            const live = await runtime.readServiceAccount(runtime.coreV1Api(props.kubeconfig), targetOf(props));
            if (live === undefined) {
                // The service account is gone, and our entry with it.
                return { id: undefined, props: undefined };
            }
            return { id, props: { ...props, listed: isListed(live, props.secretName) } };
        } catch (error) {
            throw engineError(error, props.kubeconfig);
        }
    },

    async update(_id, olds, news) {
        try {
            // Still listed: adopted as before. Removed by someone: added again, and this time it is ours.
            const result = await runtime.addReference(runtime.coreV1Api(news.kubeconfig), targetOf(news));
            return { outs: { ...news, added: result.added || (olds.added ?? false), listed: true } };
        } catch (error) {
            throw engineError(error, news.kubeconfig);
        }
    },

    async delete(_id, props) {
        if (!props.added) {
            // Adopted: someone else put it there, and it stays.
            return;
        }
        try {
            await runtime.removeReference(runtime.coreV1Api(props.kubeconfig), targetOf(props));
        } catch (error) {
            throw engineError(error, props.kubeconfig);
        }
    },
};
