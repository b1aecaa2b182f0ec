// CEL rules over a JSON body (blackbox 0.27's fail_if_body_json_matches_cel and
// fail_if_body_json_not_matches_cel): compiled once at load with @bufbuild/cel, `body` bound to the
// decoded JSON, as blackbox binds it (cel.Variable("body", cel.DynType)).
import { shown, str, type Decoder } from '../../config/schema';
import type { CELRule } from '../../config/types';
import { cel, lazy } from '../../util/heavy';

// Made on the first CEL rule: a config without one never loads @bufbuild/cel.
const env = lazy(() => cel().celEnv());
const text = str();

/** Compiles `expression`; throws with the parser's message when it is not CEL. */
export function compileCEL(expression: string): CELRule {
  const { isCelError, parse, plan } = cel();
  const program = plan(env(), parse(expression));
  return {
    expression,
    eval(body: unknown): unknown {
      const out = program({ body: body as never });
      if (isCelError(out)) throw new Error(out.message);
      return out;
    },
  };
}

/** A CEL expression, refused at load when it does not parse (blackbox: "Could not compile CEL program"). */
export const celRule: Decoder<CELRule> = (node, path, ctx) => {
  const s = text(node, path, ctx);
  if (s === undefined) return undefined;
  try {
    return compileCEL(s);
  } catch (err) {
    ctx.report(node, path, `got ${shown(node)}, expected a CEL expression that compiles (${(err as Error).message.split('\n')[0]})`);
    return undefined;
  }
};

/**
 * blackbox's matchCELExpressions: the body must be JSON, each expression must evaluate to a
 * bool; returns why the body fails, or undefined when it passes.
 */
export function celVerdict(bodyText: string, matches: CELRule | undefined, notMatches: CELRule | undefined): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch (err) {
    return `the body is not JSON: ${(err as Error).message}`;
  }
  for (const [rule, failWhen] of [[matches, true], [notMatches, false]] as const) {
    if (!rule) continue;
    let out: unknown;
    try {
      out = rule.eval(body);
    } catch (err) {
      return `evaluating CEL expression ${JSON.stringify(rule.expression)}: ${(err as Error).message}`;
    }
    if (typeof out !== 'boolean') return `CEL expression ${JSON.stringify(rule.expression)} did not evaluate to a boolean`;
    if (out === failWhen) return failWhen ? `body matched CEL expression ${JSON.stringify(rule.expression)}` : `body did not match CEL expression ${JSON.stringify(rule.expression)}`;
  }
  return undefined;
}
