/**
 * The shape every twin plugin shares: a provider object with the SDK's `check`/`diff`/`create`/`read`/`update`/
 * `delete`/`invoke` plus the configuration calls the SDK's server leaves out, dispatching to one handler per resource
 * type and per function token, and the one diff rule the real providers follow: compare the new inputs with the old
 * ones, and replace when a property that forces a new resource changed.
 *
 * What it imitates, and where that was read:
 * - The provider interface: pulumi/pulumi `sdk/nodejs/provider/provider.ts` (`Provider`, `CheckResult`, `DiffResult`).
 * - The diff: pulumi/pulumi-terraform-bridge (a Terraform `ForceNew` attribute that changes is a replacement; an
 *   Optional+Computed attribute left out of the program keeps its state) and pulumi/pulumi-azure-native
 *   `provider/pkg/provider/diff.go` (`calculateDetailedDiff`: path parameters and `forceNew` properties replace; the rest
 *   updates in place). A value unknown in a preview counts as changed.
 * - Errors as the real providers word them: azure-native v3 surfaces `azcore.ResponseError` text (method and URL,
 *   `RESPONSE <status>`, `ERROR CODE`, ARM's `{"error": {"code", "message"}}`); the azuread provider surfaces
 *   hashicorp/go-azure-sdk's `unexpected status <status> with error: <code>: <message>` under the Terraform resource's
 *   own context line.
 */
import * as fs from "node:fs";
import type * as pulumiProvider from "@pulumi/pulumi/provider";
import { TwinError } from "../store";
import type { TwinSession } from "./session";
import { compact, containsUnknown, parseUrn, sameValue, type PropertyMap } from "./values";

/** The diff a twin provider answers, with the changed keys (the SDK's `DiffResult` has no room for them). */
export interface TwinDiffResult extends pulumiProvider.DiffResult {
    readonly diffs: readonly string[];
}

/** How a resource type's inputs are diffed. */
export interface DiffSpec {
    /** The properties the program sets. Others (outputs) are never compared. */
    readonly inputs: readonly string[];
    /** Properties whose change forces a new resource. */
    readonly forceNew: readonly string[];
    /** Optional+Computed properties: left out of the program, they keep what the provider chose. */
    readonly computed?: readonly string[];
    /** Schema defaults, applied to both sides before comparing. */
    readonly defaults?: Readonly<PropertyMap>;
    /** A finer rule for a property: whether a change of it forces a new resource (default: `forceNew` membership). */
    readonly replaceWhen?: Readonly<Record<string, (olds: unknown, news: unknown) => boolean>>;
}

/** What a resource type's handler does; `urnName` is the resource's name in the program (auto-naming). */
export interface ResourceHandler {
    readonly diffSpec: DiffSpec;
    check(news: PropertyMap, olds: PropertyMap, urnName: string): pulumiProvider.CheckResult;
    create(inputs: PropertyMap): pulumiProvider.CreateResult;
    /** The live resource, or undefined when it is gone (a refresh then drops it; a `get` fails). */
    read(id: string, props: PropertyMap): { readonly props: PropertyMap; readonly inputs?: PropertyMap } | undefined;
    update(id: string, olds: PropertyMap, news: PropertyMap, oldInputs: PropertyMap): PropertyMap;
    delete(id: string, props: PropertyMap): void;
}

/** A function (invoke) handler. */
export type InvokeHandler = (args: PropertyMap) => PropertyMap;

/** A twin provider: the SDK's provider interface plus the configuration calls, all callable directly by tests. */
export interface TwinProvider extends pulumiProvider.Provider {
    readonly version: string;
    readonly session: TwinSession;
    configure(args: PropertyMap): Promise<void>;
    checkConfig(urn: string, olds: PropertyMap, news: PropertyMap): Promise<pulumiProvider.CheckResult>;
    diffConfig(urn: string, olds: PropertyMap, news: PropertyMap): Promise<TwinDiffResult>;
    /** `oldInputs` are the inputs of the last deployment (the engine sends them; the SDK's server drops them). */
    diff(id: string, urn: string, olds: PropertyMap, news: PropertyMap, oldInputs?: PropertyMap): Promise<TwinDiffResult>;
    check(urn: string, olds: PropertyMap, news: PropertyMap): Promise<pulumiProvider.CheckResult>;
    create(urn: string, inputs: PropertyMap): Promise<pulumiProvider.CreateResult>;
    /** `oldInputs`: on a refresh, the inputs of the last deployment (the engine sends them; the SDK's server drops them). */
    read(id: string, urn: string, props?: PropertyMap, oldInputs?: PropertyMap): Promise<pulumiProvider.ReadResult>;
    update(id: string, urn: string, olds: PropertyMap, news: PropertyMap, oldInputs?: PropertyMap): Promise<pulumiProvider.UpdateResult>;
    delete(id: string, urn: string, props: PropertyMap): Promise<void>;
    invoke(token: string, args: PropertyMap): Promise<pulumiProvider.InvokeResult>;
}

/** The version of an installed Pulumi SDK package: the plugin version its resources ask the engine for. */
export function sdkVersion(packageName: string): string {
    return (JSON.parse(fs.readFileSync(require.resolve(`${packageName}/package.json`), "utf8")) as { version: string }).version;
}

/** Compares new inputs with the old ones as the real providers do. */
export function diffInputs(spec: DiffSpec, olds: PropertyMap, news: PropertyMap): TwinDiffResult {
    const diffs: string[] = [];
    const replaces: string[] = [];
    for (const key of spec.inputs) {
        const next = news[key] ?? spec.defaults?.[key];
        const previous = olds[key] ?? spec.defaults?.[key];
        if (next === undefined && spec.computed?.includes(key)) continue;
        const unknown = containsUnknown(next);
        if (!unknown && sameValue(previous, next)) continue;
        diffs.push(key);
        const rule = spec.replaceWhen?.[key];
        if (rule !== undefined ? unknown || rule(previous, next) : spec.forceNew.includes(key)) replaces.push(key);
    }
    return { changes: diffs.length > 0, replaces, diffs, deleteBeforeReplace: false };
}

/**
 * The inputs a refresh records, as the bridged providers extract them (pulumi-terraform-bridge
 * `ExtractInputsFromOutputs` with the old inputs): only the properties the last deployment set, each with its live
 * value unless that is the same value written differently (a timestamp with or without milliseconds), in which case
 * the deployment's own text is kept. A `.get` read (no old inputs) records every input property it found.
 */
export function refreshedInputs(live: PropertyMap, oldInputs: PropertyMap | undefined): PropertyMap {
    if (oldInputs === undefined || Object.keys(oldInputs).length === 0) return live;
    const kept: PropertyMap = {};
    for (const [key, previous] of Object.entries(oldInputs)) {
        if (key === "__defaults") continue;
        const current = live[key];
        if (current === undefined) continue;
        kept[key] = sameValue(previous, current) || sameInstant(previous, current) ? previous : current;
    }
    return kept;
}

function sameInstant(a: unknown, b: unknown): boolean {
    const timestamp = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
    return typeof a === "string" && typeof b === "string" && timestamp.test(a) && timestamp.test(b) && Date.parse(a) === Date.parse(b);
}

/** The input properties of `map` named by `spec`. */
export function pickInputs(spec: DiffSpec, map: PropertyMap): PropertyMap {
    return compact(
        Object.fromEntries(spec.inputs.filter((key) => map[key] !== undefined && map[key] !== null).map((key) => [key, map[key]])),
    );
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
};

/** The code and message of a `TwinError` (whose own message is `<code>: <message>`). */
export function errorParts(error: TwinError): { readonly code: string; readonly message: string } {
    return {
        code: error.code,
        message: error.message.startsWith(`${error.code}: `) ? error.message.slice(error.code.length + 2) : error.message,
    };
}

/** Runs an ARM call of the twin; a `TwinError` becomes the text azure-native shows for an ARM error response. */
export function armCall<T>(method: string, path: string, call: () => T): T {
    try {
        return call();
    } catch (error) {
        if (!(error instanceof TwinError)) throw error;
        const { code, message } = errorParts(error);
        const rule = "-".repeat(80);
        throw new Error(
            [
                `${method} https://management.azure.com${path}`,
                rule,
                `RESPONSE ${error.status}: ${error.status} ${STATUS_TEXT[error.status] ?? ""}`.trimEnd(),
                `ERROR CODE: ${code}`,
                rule,
                JSON.stringify({ error: { code, message } }, null, 2),
                rule,
            ].join("\n"),
            { cause: error },
        );
    }
}

/** Runs a Microsoft Graph call of the twin; a `TwinError` becomes the azuread provider's error text under `context`. */
export function graphCall<T>(context: string, call: () => T): T {
    try {
        return call();
    } catch (error) {
        if (!(error instanceof TwinError)) throw error;
        const { code, message } = errorParts(error);
        throw new Error(
            `${context}: unexpected status ${error.status} (${error.status} ${STATUS_TEXT[error.status] ?? ""}) with error: ${code}: ${message}`,
            { cause: error },
        );
    }
}

/** Builds a twin provider from its resource and function handlers. */
export function twinProvider(options: {
    readonly version: string;
    readonly session: TwinSession;
    readonly resources: Readonly<Record<string, ResourceHandler>>;
    readonly invokes?: Readonly<Record<string, InvokeHandler>>;
    /** Whether resource operations need a configured tenant (everything but random). */
    readonly needsTenant: boolean;
}): TwinProvider {
    const { session, resources, invokes = {} } = options;
    const handler = (urn: string): ResourceHandler => {
        const type = parseUrn(urn).type;
        const found = resources[type];
        if (found === undefined) throw new Error(`Resource type ${type} is not served by the Azure twin's ${session.face} plugin.`);
        return found;
    };
    const acting = (): void => {
        if (options.needsTenant) session.tenantId();
    };
    return {
        version: options.version,
        session,
        async configure(args) {
            session.configure(args);
        },
        async checkConfig(_urn, _olds, news) {
            return { inputs: news, failures: session.checkConfig(news) };
        },
        async diffConfig(_urn, olds, news) {
            const keys = [...new Set([...Object.keys(olds), ...Object.keys(news)])].filter((key) => key !== "version");
            return diffInputs({ inputs: keys, forceNew: [] }, olds, news);
        },
        async check(urn, olds, news) {
            const result = handler(urn).check(news, olds ?? {}, parseUrn(urn).name);
            return { inputs: result.inputs === undefined ? undefined : compact(result.inputs as PropertyMap), failures: result.failures };
        },
        async diff(_id, urn, olds, news, oldInputs) {
            const base = oldInputs !== undefined && Object.keys(oldInputs).length > 0 ? oldInputs : olds;
            return diffInputs(handler(urn).diffSpec, base, news);
        },
        async create(urn, inputs) {
            acting();
            const result = handler(urn).create(inputs);
            return { id: result.id, outs: compact((result.outs ?? {}) as PropertyMap) };
        },
        async read(id, urn, props, oldInputs) {
            acting();
            const found = handler(urn).read(id, props ?? {});
            if (found === undefined) return { id: "", props: {} };
            const inputs = found.inputs === undefined ? undefined : refreshedInputs(compact(found.inputs), oldInputs);
            return { id, props: compact(found.props), inputs };
        },
        async update(id, urn, olds, news, oldInputs) {
            acting();
            return { outs: compact(handler(urn).update(id, olds, news, oldInputs ?? olds)) };
        },
        async delete(id, urn, props) {
            acting();
            handler(urn).delete(id, props);
        },
        async invoke(token, args) {
            acting();
            const found = invokes[token];
            if (found === undefined)
                throw new Error(
                    `Invoke type ${token} not found (the Azure twin's ${session.face} plugin serves ${Object.keys(invokes).join(", ") || "none"}).`,
                );
            return { outputs: compact(found(args)) };
        },
    };
}
