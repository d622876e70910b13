'use strict'
// A commit's tree for an A/B benchmark: `git archive` of it in a temp dir, sharing this checkout's
// node_modules and native addon, so that its code runs beside today's in one process or run.
// Owns only the temp dir; it may not touch this checkout's files.
const { execFileSync, execSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')

/** `commit`'s tree from the repository `git` (default this checkout) -> { dir, remove() }; throws
 * with a one-line reason when it cannot be had. */
function checkout(commit, git = ROOT) {
  try {
    execFileSync('git', ['-C', git, 'rev-parse', '--verify', '--quiet', `${commit}^{commit}`], { stdio: 'pipe' })
  } catch {
    throw new Error(`no commit ${commit} in ${git} (not a git checkout, or the commit is missing)`)
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wn-baseline-${commit}-`))
  const remove = () => fs.rmSync(dir, { recursive: true, force: true })
  try {
    execSync(`git -C '${git}' archive '${commit}' | tar -x -C '${dir}'`, { stdio: 'pipe' })
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'))
    for (const f of fs.readdirSync(ROOT).filter((f) => /^weapp-notify\..*\.node$/.test(f)))
      fs.symlinkSync(path.join(ROOT, f), path.join(dir, f))
    const { backend } = require(path.join(dir, 'index.js'))
    if (backend !== 'native') throw new Error(`its index.js loaded the ${backend} backend, not native`)
    return { dir, remove }
  } catch (e) {
    remove()
    throw new Error((e.stderr?.toString() || e.message).trim().split('\n')[0])
  }
}

module.exports = { checkout }
