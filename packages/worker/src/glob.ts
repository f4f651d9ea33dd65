// Glob patterns for `static.cacheControl` rules, matched against the decoded URL path.

/**
 * Compiles a glob to a regular expression. `**` matches any characters including `/`, `*` any
 * characters but `/`, `?` one character but `/`, `{a,b}` either alternative; everything else is
 * literal. A pattern without `/` matches the last path segment (`*.css` matches `/a/b/x.css`),
 * the way .gitignore reads it.
 */
export function compileGlob(pattern: string): RegExp {
  const anchored = pattern.includes('/');
  const source = translate(pattern);
  return new RegExp(anchored ? `^${source}$` : `(?:^|/)${source}$`);
}

function translate(pattern: string): string {
  let out = '';
  let braces = 0;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] ?? '';
    if (char === '*') {
      if (pattern[i + 1] === '*') {
        // `/**/` also matches a single `/`, so `/assets/**/x.js` matches `/assets/x.js`.
        if (pattern[i + 2] === '/' && (i === 0 || pattern[i - 1] === '/')) {
          out += '(?:.*/)?';
          i += 2;
        } else {
          out += '.*';
          i += 1;
        }
      } else {
        out += '[^/]*';
      }
    } else if (char === '?') {
      out += '[^/]';
    } else if (char === '{' && pattern.indexOf('}', i) !== -1) {
      braces++;
      out += '(?:';
    } else if (char === '}' && braces > 0) {
      braces--;
      out += ')';
    } else if (char === ',' && braces > 0) {
      out += '|';
    } else {
      out += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  // Nested braces (`{a{b}`) can leave a group open; closing it keeps the expression valid.
  return out + ')'.repeat(braces);
}
