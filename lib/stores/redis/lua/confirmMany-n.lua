--[[
  The outcomes of a chunk (in a Cluster, of one hash slot), each alone (see confirm).
  Input (a count of keys given at call time, 6 an outcome):
    KEYS exp expz sub claims days pushes, the user's keys, for each outcome
    ARGV field day token expected usesLeft remove pushed at keepMs msgid, for each outcome
      (expected: the uses left claimed; remove, pushed: '1' or '0'; msgid: '' for none)
  Output:
    for each outcome: 1 applied; 0 the claim is not held; { 'conflict', stored uses left }
]]
--- @include "each"
--- @include "confirm"
return each(0, { 'exp', 'expz', 'sub', 'claims', 'days', 'pushes' },
  { 'field', 'day', 'token', 'expected', 'uses', 'remove', 'pushed', 'at', 'keepMs', 'msgid' }, confirm)
