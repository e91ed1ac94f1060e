// The lint gate: typescript-eslint's strict type-checked rules over sources, tests and bench.
import eslint from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'test/fixtures/'] },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', '*.ts'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Messages interpolate counts, sizes and exit codes everywhere; only numbers are let through.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // `await using _lock = await lockKey(...)`: held for its scope, never read.
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests index into results they just made: a wrong `!` fails the test with a TypeError, as it should.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Fakes implement async interfaces (Machine, Check) with answers they already have.
      '@typescript-eslint/require-await': 'off',
      // The sanitizer tests feed control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    // bin/syscall-lab.mjs runs on Node.
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: globals.node },
  },
);
