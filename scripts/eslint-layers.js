// The one-way layers of src/ (docs/architecture.md), as an ESLint rule: a module imports only
// from its own layer or the layers below it. `dev-idp` stands apart and uses only the bottom.
import { dirname, relative, resolve } from 'node:path';

/** Bottom first. A folder of src/, or a file at its root. */
export const layers = [
  'errors.ts',
  'lib',
  'observability',
  'config',
  'keys',
  'tokens',
  'stores',
  'session',
  'oidc',
  'app',
  'tessera.ts',
  'adapters',
  'gateway',
  'dev',
  'cli',
  'index.ts',
];
const apart = { 'dev-idp': ['errors.ts', 'lib', 'observability'] };
const entry = { 'dev-idp': ['cli', 'dev', 'index.ts'] };

const srcRoot = resolve(import.meta.dirname, '..', 'src');

function layerOf(file) {
  const rel = relative(srcRoot, file);
  if (rel.startsWith('..')) return undefined;
  const top = rel.split(/[\\/]/)[0];
  return top.endsWith('.js') ? `${top.slice(0, -3)}.ts` : top; // a specifier names the emitted .js
}

function allowed(from, to) {
  if (from === to) return true;
  if (apart[from]) return apart[from].includes(to);
  if (apart[to]) return entry[to]?.includes(from) ?? false;
  const a = layers.indexOf(from);
  const b = layers.indexOf(to);
  return a !== -1 && b !== -1 && b < a;
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports in src/ point down the layers only' },
    messages: { up: '{{from}} may not import {{to}} (layers point one way; see docs/architecture.md)', unknown: '{{layer}} is not a known layer of src/ (add it to scripts/eslint-layers.js)' },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    const from = layerOf(file);
    if (from === undefined) return {};
    const check = (node, spec) => {
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const to = layerOf(resolve(dirname(file), spec));
      if (to === undefined) return;
      if (![...layers, ...Object.keys(apart)].includes(to)) return context.report({ node, messageId: 'unknown', data: { layer: to } });
      if (!allowed(from, to)) context.report({ node, messageId: 'up', data: { from, to } });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};

export default { rules: { layers: rule } };
