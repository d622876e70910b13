'use strict'
// A faithful port of seed 000's design, for the end-to-end benchmark: its two tables with their
// keys exactly as written, its N+1 queries, its unawaited forEach(async ...) over a mysql2 pool of
// the default size (10), its per-user sends. Only what cannot run as written is fixed:
//
// 1. `_sendMessageToUser` uses `await` but is not `async`, and never returns the send's result:
//    it is made async and returns a promise of the HTTP answer.
// 2. The `request` library is gone from npm's maintained set: the POST uses the same keep-alive
//    HTTP client as every other variant (bench fairness, not a design change).
// 3. `_getAccessToken` is omitted in the seed ("获取token方法省略"): the token is fetched once.
// 4. `open_id = ${open_id} AND form_id = ${form_id}` interpolates strings without quotes, which
//    is a SQL syntax error: the values are quoted (with mysql2's escape, as the seed's author would).
// 5. The job returns before its unawaited sends finish (the seed's bug, kept): to time the job,
//    the port counts finished per-user callbacks and resolves when all have run.
//
// `indexed: true` adds `KEY user_id (user_id)` to wx_save_form_id: the only change of that variant.

async function createSeedSchema(pool, { indexed }) {
  await pool.query('DROP TABLE IF EXISTS wx_save_form_id, wx_message_push_status')
  await pool.query(`CREATE TABLE \`wx_save_form_id\` (
    \`id\` int(11) unsigned NOT NULL AUTO_INCREMENT,
    \`open_id\` char(100) NOT NULL DEFAULT '',
    \`user_id\` int(11) NOT NULL,
    \`form_id\` char(100) NOT NULL DEFAULT '',
    \`expire\` bigint(20) NOT NULL COMMENT 'form_id过期时间(时间戳)',
    \`status\` int(1) DEFAULT '0' COMMENT '0 未推送 1已推送 2 过期',
    PRIMARY KEY (\`id\`)${indexed ? ',\n    KEY `user_id` (`user_id`)' : ''}
  ) ENGINE=InnoDB AUTO_INCREMENT=114 DEFAULT CHARSET=utf8`)
  await pool.query(`CREATE TABLE \`wx_message_push_status\` (
    \`id\` int(11) unsigned NOT NULL AUTO_INCREMENT,
    \`user_id\` int(11) NOT NULL,
    \`count\` int(11) NOT NULL DEFAULT '1' COMMENT '可推送消息次数',
    \`last_date\` bigint(20) NOT NULL DEFAULT '0' COMMENT '最后一次推送消息时间',
    PRIMARY KEY (\`id\`),
    UNIQUE KEY \`user_id\` (\`user_id\`)
  ) ENGINE=InnoDB AUTO_INCREMENT=11 DEFAULT CHARSET=utf8`)
}

/** The seed's sendMessageTaskAction, ported: resolves when every unawaited per-user callback has finished. */
function sendMessageTask({ mysqlClient, post, accessToken, today }) {
  return new Promise((resolve, reject) => {
    const run = async () => {
      const Today = today
      const selectCanPushSql = `select user_id from wx_message_push_status WHERE count > 0 AND last_date != ${Today}`
      let temp = await mysqlClient.query(selectCanPushSql)
      let selectCanPush = temp[0]
      let pending = selectCanPush.length
      if (!pending) return resolve(0)
      const done = () => --pending === 0 && resolve(selectCanPush.length)
      selectCanPush.forEach(async (record) => {
        try {
          let user_id = record.user_id
          const currentTime = new Date().getTime()
          const getFormIdSql = `select open_id, user_id, form_id from wx_save_form_id WHERE user_id = ${user_id} AND status = 0 AND expire >= ${currentTime} AND form_id != 'the formId is a mock one' ORDER BY expire ASC`
          let getFormIdTemp = await mysqlClient.query(getFormIdSql)
          let getUserFormIds = getFormIdTemp[0]
          const { open_id, form_id } = getUserFormIds[0]
          await _sendMessageToUser(open_id, form_id)
          let updateCountSql = `UPDATE wx_message_push_status SET count = count - 1, last_date = ${Today} WHERE count >0 AND user_id = ${user_id}; `
          await mysqlClient.query(updateCountSql)
          let updateStatusSql = `UPDATE wx_save_form_id SET status = 1 WHERE user_id = ${user_id} AND open_id = ${mysqlClient.escape(open_id)} AND form_id = ${mysqlClient.escape(form_id)}`
          await mysqlClient.query(updateStatusSql)
        } catch (err) {
          // The seed swallows errors here.
        }
        done()
      })
    }
    run().catch(reject)
  })

  async function _sendMessageToUser(open_id, form_id) {
    const oDate = new Date()
    const time = oDate.getFullYear() + '.' + (oDate.getMonth() + 1) + '.' + oDate.getDate()
    if (accessToken) {
      const url = `/cgi-bin/message/wxopen/template/send?access_token=${accessToken}`
      return post(
        url,
        JSON.stringify({
          touser: open_id,
          form_id,
          page: 'pages/xxx/xxx',
          template_id: 'TPL_CHECKIN',
          data: {
            keyword1: { value: '日领积分' },
            keyword2: { value: '已经连续答题N天,连续答题7天有惊喜,加油~' },
            keyword3: { value: '叮!该签到啦~锲而不舍,金石可镂。' },
            keyword4: { value: time },
          },
        }),
      )
    }
  }
}

module.exports = { createSeedSchema, sendMessageTask }
