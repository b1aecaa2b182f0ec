// Go's regexp.Expand over a JavaScript match, so that query_response `send` templates and
// expect-info label values written for blackbox_exporter ("PONG ${1}", "$version") expand the same:
//   $$ is a literal $; $name / ${name} take the longest run of letters, digits and '_' as the name;
//   an all-digit name without a leading zero (< 1e8) is a group number, anything else a group name;
//   a group that does not exist or did not take part expands to ""; a malformed reference
//   ("$", "${", "${x") leaves the '$' as text. See https://pkg.go.dev/regexp#Regexp.Expand.

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

interface Ref {
  name: string;
  /** group number, or -1 for a name lookup */
  num: number;
  /** index in the template just past the reference */
  end: number;
}

/** Parses the reference that starts just after a '$' at `at`; undefined when malformed. */
function extract(template: string, at: number): Ref | undefined {
  let i = at;
  const brace = template[i] === '{';
  if (brace) i++;
  const nameStart = i;
  for (const ch of template.slice(i)) {
    if (!NAME_CHAR.test(ch)) break;
    i += ch.length;
  }
  if (i === nameStart) return undefined;
  const name = template.slice(nameStart, i);
  if (brace) {
    if (template[i] !== '}') return undefined;
    i++;
  }
  let num = /^[0-9]+$/.test(name) && name.length <= 8 ? Number(name) : -1;
  if (name.length > 1 && name[0] === '0') num = -1;
  return { name, num, end: i };
}

function group(match: RegExpExecArray, ref: Ref): string {
  if (ref.num >= 0) return match[ref.num] ?? '';
  return match.groups?.[ref.name] ?? '';
}

export function expandTemplate(template: string, match: RegExpExecArray): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) break;
    out += template.slice(i, dollar);
    i = dollar + 1;
    if (template[i] === '$') {
      out += '$';
      i++;
      continue;
    }
    const ref = extract(template, i);
    if (!ref) {
      out += '$';
      continue;
    }
    out += group(match, ref);
    i = ref.end;
  }
  return out + template.slice(i);
}
