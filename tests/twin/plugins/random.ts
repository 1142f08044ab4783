/**
 * The Azure twin's `random` resource plugin: stands in for pulumi-random (the bridged
 * hashicorp/terraform-provider-random) at the exact version the SDK asks for, for the one resource the program
 * declares (`azuread`-free, tenant-free: the rotation anchor in components/grant.ts).
 *
 * What it imitates, and where that was read: hashicorp/terraform-provider-random `internal/provider/resource_id.go`.
 * `random:index/randomId:RandomId` takes `byte_length` (required, RequiresReplace), `keepers` (a map of strings,
 * RequiresReplaceIfValuesNotNull) and `prefix` (RequiresReplace), draws `byte_length` random bytes and outputs `id`
 * (base64 URL-safe without padding, no prefix), and `b64_url`, `b64_std`, `hex` and `dec`, each with the prefix.
 * Read changes nothing; update copies the plan. The program's `ignoreChanges: ["keepers"]` is applied by the engine
 * before Diff, so a moved clock never replaces the anchor.
 *
 * Creations are logged to the twin's store (face `random`) when one is set up; nothing here needs a tenant.
 */
import { randomBytes } from "node:crypto";
import type { CheckFailure, CheckResult } from "@pulumi/pulumi/provider";
import { pickInputs, sdkVersion, twinProvider, type DiffSpec, type ResourceHandler, type TwinProvider } from "./framework";
import { serve } from "./serve";
import { TwinSession } from "./session";
import { containsUnknown, knownAt, reveal, stringAt, type PropertyMap } from "./values";
import type { TwinStore } from "../store";

/** The plugin's name and version: the SDK's own, which is what the engine asks for. */
export const RANDOM_PLUGIN = { name: "random", version: sdkVersion("@pulumi/random") } as const;

export const RANDOM_ID = "random:index/randomId:RandomId";

/** Keepers replace only when a value that is set on either side changed (`RequiresReplaceIfValuesNotNull`). */
function keepersChanged(olds: unknown, news: unknown): boolean {
    const before = (reveal(olds) as Record<string, unknown> | undefined) ?? {};
    const after = (reveal(news) as Record<string, unknown> | undefined) ?? {};
    return [...new Set([...Object.keys(before), ...Object.keys(after)])].some((key) => before[key] !== after[key]);
}

function randomIdHandler(session: TwinSession): ResourceHandler {
    const diffSpec: DiffSpec = {
        inputs: ["byteLength", "keepers", "prefix"],
        forceNew: ["byteLength", "keepers", "prefix"],
        replaceWhen: { keepers: keepersChanged },
    };
    return {
        diffSpec,
        check(news): CheckResult {
            const failures: CheckFailure[] = [];
            if (news.byteLength === undefined || news.byteLength === null) {
                failures.push({
                    property: "byteLength",
                    reason: `Missing required argument. The argument "byte_length" is required, but no definition was found. Examine values at 'RandomId.byteLength'.`,
                });
            } else if (!containsUnknown(news.byteLength)) {
                const length = knownAt(news, "byteLength");
                if (typeof length !== "number" || !Number.isInteger(length) || length < 1) {
                    failures.push({
                        property: "byteLength",
                        reason: `byte_length: expected a whole number of at least 1, got ${JSON.stringify(length)}`,
                    });
                }
            }
            const keepers = knownAt(news, "keepers");
            if (
                keepers !== undefined &&
                (typeof keepers !== "object" ||
                    Array.isArray(keepers) ||
                    Object.values(keepers as PropertyMap).some((v) => typeof v !== "string"))
            ) {
                failures.push({ property: "keepers", reason: "keepers: a map of strings is expected" });
            }
            return { inputs: news, failures };
        },
        create(inputs) {
            const byteLength = knownAt(inputs, "byteLength") as number;
            const bytes = randomBytes(byteLength);
            const prefix = stringAt(inputs, "prefix") ?? "";
            const id = bytes.toString("base64url");
            const outs = {
                ...inputs,
                b64Url: `${prefix}${id}`,
                b64Std: `${prefix}${bytes.toString("base64")}`,
                hex: `${prefix}${bytes.toString("hex")}`,
                dec: `${prefix}${BigInt(`0x${bytes.toString("hex")}`).toString(10)}`,
            };
            session.optionalStore?.mutate((_state, log) => log("random", "create random id", id, { byteLength }));
            return { id, outs };
        },
        read(_id, props) {
            return { props, inputs: pickInputs(diffSpec, props) };
        },
        update(_id, olds, news) {
            return { ...olds, ...news };
        },
        delete(id) {
            session.optionalStore?.mutate((_state, log) => log("random", "delete random id", id));
        },
    };
}

/** A new random provider of the twin; `store` (for the log only) defaults to `AZURE_TWIN_STORE` when that is set. */
export function randomProvider(options: { readonly store?: TwinStore } = {}): TwinProvider {
    const session = new TwinSession({ face: "random", requiresTenant: false, publicEnvironments: [], store: options.store });
    return twinProvider({
        version: RANDOM_PLUGIN.version,
        session,
        needsTenant: false,
        resources: { [RANDOM_ID]: randomIdHandler(session) },
    });
}

/** The provider this plugin process serves. */
export const provider: TwinProvider = randomProvider();

if (require.main === module) {
    void serve(provider, process.argv.slice(2));
}
