/**
 * One entry in a service account's `imagePullSecrets`, added and removed without touching the others.
 *
 * `ServiceAccount.imagePullSecrets` is an atomic list (`+listType=atomic`, and upstream refused to change that:
 * kubernetes/kubernetes#72475, #91250), so neither server-side apply nor a merge patch can edit one entry: both
 * write the whole list. An RFC 6902 JSON Patch can, because the API server applies it to the stored object inside
 * one guarded update (`GuaranteedUpdate`): a `test` of the list as it was read, then an `add` at its end, either
 * applies to exactly that list or fails with 422, and then we read again. Removal tests our entry's name at its
 * index before removing that index. Nobody else's entry is ever rewritten.
 *
 * What cannot be shared is a list that another server-side-apply manager owns: that tool's next apply conflicts
 * with our write or, if it forces, drops our entry. `applyOwners` finds such owners so the delivery stops first.
 *
 * Pure functions only: `pullSecretReferenceRuntime.ts` sends what these plan.
 */

/** One entry of `imagePullSecrets`. */
export interface LocalObjectReference {
    readonly name?: string;
}

/** An entry of `metadata.managedFields`, as the API server returns it. */
export interface ManagedFieldsEntry {
    readonly manager?: string;
    readonly operation?: string;
    readonly fieldsV1?: Readonly<Record<string, unknown>>;
}

/** The parts of a service account these functions read. */
export interface ServiceAccountView {
    readonly metadata?: {
        readonly name?: string;
        readonly namespace?: string;
        readonly resourceVersion?: string;
        readonly managedFields?: readonly ManagedFieldsEntry[];
    };
    readonly imagePullSecrets?: readonly LocalObjectReference[];
}

/** One RFC 6902 operation. */
export type JsonPatchOperation =
    | { readonly op: "test"; readonly path: string; readonly value: unknown }
    | { readonly op: "add"; readonly path: string; readonly value: unknown }
    | { readonly op: "remove"; readonly path: string };

/** What adding our entry takes, given the service account as read. */
export type AddPlan =
    /** Our name is already listed: someone put it there, so it is adopted and never removed by us. */
    { readonly kind: "present" } | { readonly kind: "patch"; readonly operations: readonly JsonPatchOperation[] };

/** What removing our entry takes. */
export type RemovePlan = { readonly kind: "absent" } | { readonly kind: "patch"; readonly operations: readonly JsonPatchOperation[] };

/**
 * The JSON Patch that appends `{name: secretName}` to the list exactly as read, or `present`. An absent list is
 * guarded by the object's resourceVersion (there is no list to test, and `add /imagePullSecrets/-` fails on an
 * absent list); a present one by a `test` of the whole list, never an unguarded `add /imagePullSecrets`, which
 * would replace it.
 */
export function planAdd(live: ServiceAccountView, secretName: string): AddPlan {
    const list = live.imagePullSecrets;
    if (list?.some((entry) => entry.name === secretName)) {
        return { kind: "present" };
    }
    if (list === undefined || list === null) {
        const resourceVersion = live.metadata?.resourceVersion;
        if (!resourceVersion) {
            throw new Error("a service account read from the API server carries a resourceVersion");
        }
        return {
            kind: "patch",
            operations: [
                { op: "test", path: "/metadata/resourceVersion", value: resourceVersion },
                { op: "add", path: "/imagePullSecrets", value: [{ name: secretName }] },
            ],
        };
    }
    return {
        kind: "patch",
        operations: [
            { op: "test", path: "/imagePullSecrets", value: list },
            { op: "add", path: "/imagePullSecrets/-", value: { name: secretName } },
        ],
    };
}

/**
 * The JSON Patch that removes our entry where it is now, or `absent`. When ours is the only entry the whole field
 * goes, so a list that was absent before us is absent again.
 */
export function planRemove(live: ServiceAccountView, secretName: string): RemovePlan {
    const list = live.imagePullSecrets ?? [];
    const index = list.findIndex((entry) => entry.name === secretName);
    if (index < 0) {
        return { kind: "absent" };
    }
    if (list.length === 1) {
        return {
            kind: "patch",
            operations: [
                { op: "test", path: "/imagePullSecrets", value: list },
                { op: "remove", path: "/imagePullSecrets" },
            ],
        };
    }
    return {
        kind: "patch",
        operations: [
            { op: "test", path: `/imagePullSecrets/${index}/name`, value: secretName },
            { op: "remove", path: `/imagePullSecrets/${index}` },
        ],
    };
}

/** Whether our entry is listed. */
export function isListed(live: ServiceAccountView | undefined, secretName: string): boolean {
    return live?.imagePullSecrets?.some((entry) => entry.name === secretName) ?? false;
}

/**
 * Server-side-apply managers that own `imagePullSecrets` (an `Apply` entry of `managedFields` holding
 * `f:imagePullSecrets`). A manager whose name `ignore` accepts is left out (our own former `ServiceAccountPatch`
 * while a stack migrates).
 */
export function applyOwners(live: ServiceAccountView, ignore: (manager: string) => boolean = () => false): string[] {
    const owners: string[] = [];
    for (const entry of live.metadata?.managedFields ?? []) {
        if (entry.operation !== "Apply" || entry.fieldsV1 === undefined || !("f:imagePullSecrets" in entry.fieldsV1)) {
            continue;
        }
        const manager = entry.manager ?? "";
        if (!ignore(manager) && !owners.includes(manager)) {
            owners.push(manager);
        }
    }
    return owners;
}

/** Why a service account's list cannot be shared, and the ways out. Names no credential. */
export function applyOwnedMessage(namespace: string, serviceAccount: string, secretName: string, owners: readonly string[]): string {
    const named = owners.map((owner) => JSON.stringify(owner)).join(", ");
    return [
        `Service account ${namespace}/${serviceAccount}: its imagePullSecrets list is owned by server-side apply (field manager ${named}).`,
        `Kubernetes treats that list as one atomic value, so an entry added by anyone else conflicts with that tool's next apply, or is dropped when it forces.`,
        "Nothing was created. Either:",
        `  - add {name: "${secretName}"} to the imagePullSecrets of that service account in the manifest ${named} applies (this stack then finds it listed and leaves it alone), or`,
        `  - deliver to pods instead of service accounts (pullSecretTarget: pods), which adds the secret to each new pod's own imagePullSecrets.`,
    ].join("\n");
}

/** The field manager our plain updates record. */
export const REFERENCE_FIELD_MANAGER = "aks-acr-cross-tenant";

/**
 * The field manager names the Kubernetes provider gives a `ServiceAccountPatch` (`pulumi-kubernetes-` and eight
 * random hex digits), the resource earlier versions of this delivery declared.
 */
const FORMER_PATCH_MANAGER = /^pulumi-kubernetes-[0-9a-f]{8}$/;

/** Whether the list holds our entry and nothing else (what earlier versions applied). */
function onlyOurs(live: ServiceAccountView, secretName: string): boolean {
    const list = live.imagePullSecrets ?? [];
    return list.length > 0 && list.every((entry) => entry.name === secretName);
}

/**
 * The server-side-apply owner left by an earlier version's `ServiceAccountPatch`: a `pulumi-kubernetes-…` Apply
 * manager of a list that holds only our entry. Such a patch, once dropped from the program, relinquishes the list
 * and the API server deletes it, our entry with it; so the reference takes the list over first (`planTakeOver`).
 */
export function formerPatchOwners(live: ServiceAccountView, secretName: string): string[] {
    if (!onlyOurs(live, secretName)) return [];
    return applyOwners(live).filter((manager) => FORMER_PATCH_MANAGER.test(manager));
}

/**
 * The Apply owners that stop us: every one, except an earlier version's patch (`formerPatchOwners`), which the
 * reference takes over.
 */
export function blockingApplyOwners(live: ServiceAccountView, secretName: string): string[] {
    const former = formerPatchOwners(live, secretName);
    return applyOwners(live, (manager) => former.includes(manager));
}

/**
 * The two guarded writes that move the list from an earlier version's patch to us. Server-side apply gives an atomic
 * list to the last manager that changed it, and a write that changes nothing changes no ownership; so the first
 * appends a second copy of our entry, the second removes it. The list is the same before and after, and our field
 * manager owns it: the old patch's relinquishing then removes nothing.
 */
export function planTakeOver(live: ServiceAccountView, secretName: string): readonly (readonly JsonPatchOperation[])[] {
    const list = live.imagePullSecrets ?? [];
    const doubled = [...list, { name: secretName }];
    return [
        [
            { op: "test", path: "/imagePullSecrets", value: list },
            { op: "add", path: "/imagePullSecrets/-", value: { name: secretName } },
        ],
        [
            { op: "test", path: "/imagePullSecrets", value: doubled },
            { op: "remove", path: `/imagePullSecrets/${doubled.length - 1}` },
        ],
    ];
}

/**
 * A take-over that stopped between its two writes: our entry twice at the end, the list ours by a plain update.
 * The next attempt removes the copy and counts the entry as added.
 */
export function interruptedTakeOver(live: ServiceAccountView, secretName: string): readonly JsonPatchOperation[] | undefined {
    const list = live.imagePullSecrets ?? [];
    const last = list.length - 1;
    if (last < 1 || list[last].name !== secretName || list[last - 1].name !== secretName) return undefined;
    const ownedByUs = (live.metadata?.managedFields ?? []).some(
        (entry) =>
            entry.manager === REFERENCE_FIELD_MANAGER &&
            entry.operation === "Update" &&
            entry.fieldsV1 !== undefined &&
            "f:imagePullSecrets" in entry.fieldsV1,
    );
    if (!ownedByUs) return undefined;
    return [
        { op: "test", path: "/imagePullSecrets", value: list },
        { op: "remove", path: `/imagePullSecrets/${last}` },
    ];
}
