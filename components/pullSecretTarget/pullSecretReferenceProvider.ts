/**
 * What the pull secret reference does at deploy time: the dynamic provider's methods. Check reads the live service
 * account (in previews too) and refuses what cannot work; create adds our entry or adopts one already there; read
 * reports whether it is still listed, so a refresh shows a removed entry as drift; update puts it back; delete
 * removes only an entry this resource added.
 *
 * Runs inside Pulumi's dynamic provider host, shipped as source text with `pullSecretReference` and
 * `pullSecretReferenceRuntime` (see `reset/runtimeSource.ts`): it may import only those, packages and Node
 * built-ins. The kubeconfig arrives once per provider process, from the configuration of the references' provider
 * resource (`serviceAccountPullSecretProvider.ts`), and goes nowhere but the Kubernetes client: a reference's own
 * inputs and state hold only which entry, where.
 */
import type * as pulumi from "@pulumi/pulumi";
import { isListed } from "./pullSecretReference";
import * as runtime from "./pullSecretReferenceRuntime";

/** The inputs, and the state: the inputs plus what the provider found. */
export interface PullSecretReferenceState {
    /**
     * The cluster's kubeconfig (secret), in the state of references written before the kubeconfig moved to their
     * provider's configuration. Never written now; its presence makes the next `up` rewrite the state without it.
     */
    readonly kubeconfig?: string;
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly secretName: string;
    /**
     * Whether the program found the entry listed when it read the service account moments before (the delivery's
     * checks). Given, check trusts that read instead of reading again, and `false` for a reference that exists shows
     * a missing entry as drift. An observation of this run, not a setting: check drops it from the inputs it returns,
     * so the state never holds it (a refresh would take a stale one for drift).
     */
    readonly listedWhenRead?: boolean;
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

/**
 * The state as written now: which entry, where, and what the provider found; never a kubeconfig, nor the program's
 * observation of this run (`listedWhenRead`).
 */
function withoutKubeconfig(state: PullSecretReferenceState): PullSecretReferenceState {
    const { kubeconfig: _kubeconfig, listedWhenRead: _listedWhenRead, ...rest } = state;
    return rest;
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

/**
 * The provider's methods for one cluster connection: what the host calls for every reference of a provider process,
 * configured once with that connection's kubeconfig.
 */
export function referenceProviderFor(kubeconfig: string): PullSecretReferenceProvider {
    const api = (): ReturnType<typeof runtime.coreV1Api> => runtime.coreV1Api(kubeconfig);
    // Whether our entry was listed when this run's check saw the service account, by id: as the program read it
    // (`listedWhenRead`, for a reference that exists), or as check read it itself. Diff takes it from here: an entry
    // that is gone (someone removed it, or the service account was deleted and re-created, as the `default` one is)
    // then shows as an update in a plain preview, and the next plain `up` puts it back, the same as after a refresh.
    // Without it, the preview and `up` would agree that nothing changes while the entry stays missing.
    const listedAtCheck = new Map<string, boolean>();
    return {
        async check(olds, news) {
            const failures: pulumi.dynamic.CheckFailure[] = [];
            for (const key of IDENTITY) {
                if (typeof news[key] !== "string" || news[key] === "") {
                    failures.push({ property: key, reason: `${key} is required` });
                }
            }
            // The kubeconfig is unknown only while the cluster is being created: nothing to read yet.
            if (failures.length > 0 || [kubeconfig, ...IDENTITY.map((key) => news[key])].includes(UNKNOWN)) {
                return { inputs: withoutKubeconfig(news), failures };
            }
            // The program read the service account and refused what cannot work already (the delivery's checks): no
            // second read. The engine calls check for one resource at a time, so a read here would cost a round trip
            // per reference on every preview and up. Only a reference that exists (its stored inputs name it) can have
            // lost its entry; a new one is about to add it.
            if (typeof news.listedWhenRead === "boolean") {
                if (olds.namespace !== undefined) listedAtCheck.set(idOf(news), news.listedWhenRead);
                return { inputs: withoutKubeconfig(news), failures };
            }
            // Previews run this too: what up would refuse, the preview refuses first.
            try {
                const target = targetOf(news);
                const live = await runtime.readServiceAccount(api(), target);
                if (live === undefined) {
                    failures.push({ property: "serviceAccount", reason: runtime.notFoundMessage(target) });
                } else {
                    listedAtCheck.set(idOf(news), isListed(live, news.secretName));
                    if (!isListed(live, news.secretName)) runtime.assertShareable(live, target);
                }
            } catch (error) {
                failures.push({ property: "serviceAccount", reason: messageOf(error, kubeconfig) });
            }
            return { inputs: withoutKubeconfig(news), failures };
        },

        diff(_id, olds, news) {
            const replaces = IDENTITY.filter((key) => olds[key] !== news[key]);
            // A refresh, or this run's check, that found our entry gone shows as a change; the update puts it back.
            const listedNow = listedAtCheck.get(idOf(news));
            listedAtCheck.delete(idOf(news));
            const drifted = olds.listed === false || listedNow === false;
            // A state that still holds a kubeconfig is rewritten without it (one update, no request but a read).
            const changes = replaces.length > 0 || drifted || olds.kubeconfig !== undefined;
            // The new entry is added before the old one is removed, so pods never lack a reference.
            return Promise.resolve({ changes, replaces, deleteBeforeReplace: false });
        },

        async create(inputs) {
            try {
                const result = await runtime.addReference(api(), targetOf(inputs));
                return { id: idOf(inputs), outs: { ...withoutKubeconfig(inputs), added: result.added, listed: true } };
            } catch (error) {
                throw engineError(error, kubeconfig);
            }
        },

        async read(id, props) {
            if (props === undefined) {
                return { id, props };
            }
            try {
                const live = await runtime.readServiceAccount(api(), targetOf(props));
                if (live === undefined) {
                    // The service account is gone, and our entry with it.
                    return { id: undefined, props: undefined };
                }
                return { id, props: { ...withoutKubeconfig(props), listed: isListed(live, props.secretName) } };
            } catch (error) {
                throw engineError(error, kubeconfig);
            }
        },

        async update(_id, olds, news) {
            try {
                // Still listed: adopted as before. Removed by someone: added again, and this time it is ours.
                const result = await runtime.addReference(api(), targetOf(news));
                return { outs: { ...withoutKubeconfig(news), added: result.added || (olds.added ?? false), listed: true } };
            } catch (error) {
                throw engineError(error, kubeconfig);
            }
        },

        async delete(_id, props) {
            if (!props.added) {
                // Adopted: someone else put it there, and it stays.
                return;
            }
            try {
                await runtime.removeReference(api(), targetOf(props));
            } catch (error) {
                throw engineError(error, kubeconfig);
            }
        },
    };
}
