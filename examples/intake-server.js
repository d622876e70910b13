// The intake endpoints as a Node service writes them, in Express: the mini-program's uploadFormId
// POST, and a paid order's prepay_id from the payment notification. The core validates what
// arrives; only what it accepts is saved, through a store (any weapp-notify store: the embedded one
// here). Every core error code is the client's mistake (422, with the code); a body that is not
// JSON is 400; anything else is the server's (500).
const express = require('express')
const wn = require('weapp-notify')
const { EmbeddedStore } = require('weapp-notify/embedded')

function createApp(store) {
  const app = express()
  app.use(express.json())

  // `wx.request({ url: '/form-ids', method: 'POST', data: { formId: e.detail.formId } })` from a
  // `<form report-submit>`; the user comes from your session (a header stands in for it here).
  app.post('/form-ids', async (req, res, next) => {
    try {
      const credential = wn.intakeFormId({
        userId: req.get('x-user-id'),
        formId: req.body.formId,
        collectedAt: Date.now(),
      })
      await store.saveCredentials([credential])
      res.status(201).json({ expireAt: credential.expireAt })
    } catch (e) {
      next(e)
    }
  })

  // Your payment notification handler, once WeChat Pay says the order is paid.
  app.post('/orders/:orderId/paid', async (req, res, next) => {
    try {
      const { userId, prepayId, paidAt } = req.body
      await store.saveCredentials([wn.intakePrepayId({ userId, prepayId, paidAt })])
      res.status(204).end()
    } catch (e) {
      next(e)
    }
  })

  app.use((err, req, res, next) => {
    if (wn.ERROR_CODES.includes(err.code)) return res.status(422).json({ code: err.code, message: err.message })
    if (err.type === 'entity.parse.failed') return res.status(400).json({ code: 'BAD_JSON', message: err.message })
    next(err)
  })
  return app
}

module.exports = { createApp }

if (require.main === module) {
  const store = new EmbeddedStore({ file: process.env.STORE_FILE ?? '.data/credentials.log' })
  store.migrate().then(() => {
    const server = createApp(store).listen(Number(process.env.PORT ?? 3000), () =>
      console.log(`intake listening on ${server.address().port}`),
    )
  })
}
