// WeChat's message push in Express: the URL set in the mini-program's console (开发管理 > 消息推送),
// with its Token, EncodingAESKey and safe mode. WeChat checks the URL with a GET once, then POSTs
// each event: a popup's answers, a template turned off, each sent message's fate. The intake checks
// the signature (and decrypts), refuses stale and replayed pushes, and applies each event once to
// the store: grants from the popup, an end to a turned-off template's grants, failed deliveries.
const express = require('express')
const { PushIntake } = require('weapp-notify/events')

function createPushApp({ store, userOf, token, encodingAesKey, appId }) {
  const intake = new PushIntake({ token, encodingAesKey, appId, store, userOf, grantSource: 'events' })
  const app = express()
  // The signature covers the body as WeChat sent it: read as text, never parsed and re-written.
  app.use('/wechat/push', express.text({ type: () => true, limit: '64kb' }))
  app.all('/wechat/push', async (req, res, next) => {
    try {
      const body = typeof req.body === 'string' ? req.body : ''
      const answer = await intake.handle({ method: req.method, query: req.query, body })
      res.status(answer.status).type('text/plain').send(answer.body)
    } catch (e) {
      next(e) // the store's error: a 500, and WeChat tries the push again
    }
  })
  // Your mini-program's own result of wx.requestSubscribeMessage: read, and with events as the
  // source of grants, it adds none (the popup event for the same tap already did).
  app.post('/subscriptions', express.json(), async (req, res, next) => {
    try {
      const { saved } = await intake.clientResult({ userId: req.get('x-user-id'), result: req.body })
      res.status(201).json({ saved })
    } catch (e) {
      next(e)
    }
  })
  return app
}

module.exports = { createPushApp }

if (require.main === module) {
  const { EmbeddedStore } = require('weapp-notify/embedded')
  const store = new EmbeddedStore({ file: process.env.STORE_FILE ?? '.data/credentials.log' })
  // Your users table maps openids to your user ids; a Map stands in for it here.
  const users = new Map(JSON.parse(process.env.USERS ?? '[]'))
  store.migrate().then(() => {
    const app = createPushApp({
      store,
      userOf: (openid) => users.get(openid),
      token: process.env.WECHAT_PUSH_TOKEN,
      encodingAesKey: process.env.WECHAT_PUSH_AES_KEY,
      appId: process.env.WECHAT_APPID,
    })
    const server = app.listen(Number(process.env.PORT ?? 3001), () =>
      console.log(`push URL on ${server.address().port}`),
    )
  })
}
