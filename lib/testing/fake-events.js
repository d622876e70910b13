'use strict'
// The fake WeChat's message pushes: the subscription events WeChat POSTs to an app's push URL,
// written from WeChat's documentation on its own (node:crypto, never the core), so that the
// app's intake is checked against what WeChat sends, not against what the core expects.
// - Events (developers.weixin.qq.com/miniprogram/dev/framework/open-ability/subscribe-message.html,
//   "订阅消息事件推送"): subscribe_msg_popup_event (the user's answer per template),
//   subscribe_msg_change_event (only rejects: a template turned off in settings) and
//   subscribe_msg_sent_event (each sent message's fate by MsgID; ErrorCode 0 is success, a failure
//   is a system failure of the asynchronous delivery). XML repeats <List>; JSON's List is an
//   array, or one object for one entry, and its CreateTime a string.
// - Signing (the message-push guide, "消息推送" / WXBizMsgCrypt): signature = sha1 of the sorted
//   token, timestamp and nonce; safe mode encrypts random(16) + length(4, big-endian) + text +
//   appid with AES-256-CBC, key = base64(EncodingAESKey + "="), IV = its first 16 bytes, PKCS#7
//   padding to 32-byte blocks, and msg_signature = sha1 of the sorted token, timestamp, nonce and
//   the ciphertext.
// Owns the events' text, their signing, their POSTs and the record of every push made. May import
// node's modules only: never the core nor another part of the package, so that it stays a second,
// independent reading of WeChat's documentation.

const crypto = require('node:crypto')
const http = require('node:http')

const sha1 = (parts) =>
  crypto
    .createHash('sha1')
    .update([...parts].sort().join(''))
    .digest('hex')
const cdata = (v) => `<![CDATA[${v}]]>`

function encrypt(text, { encodingAesKey, appId }) {
  const key = Buffer.from(`${encodingAesKey}=`, 'base64')
  const body = Buffer.from(text)
  const length = Buffer.alloc(4)
  length.writeUInt32BE(body.length)
  const plain = Buffer.concat([crypto.randomBytes(16), length, body, Buffer.from(appId)])
  const pad = 32 - (plain.length % 32)
  const cipher = crypto.createCipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false)
  return Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString(
    'base64',
  )
}

// One event in WeChat's XML or JSON; `list` is its entries (fields in WeChat's names).
function eventText({ format, appName, openid, at, event, wrapper, list }) {
  const seconds = Math.floor(at / 1000)
  if (format === 'json') {
    return JSON.stringify({
      ToUserName: appName,
      FromUserName: openid,
      CreateTime: String(seconds),
      MsgType: 'event',
      Event: event,
      List: list.length === 1 ? list[0] : list,
    })
  }
  // MsgID and ErrorCode are numbers in WeChat's XML, the others CDATA.
  const field = ([k, v]) => `<${k}>${k === 'MsgID' || k === 'ErrorCode' || k === 'PopupScene' ? v : cdata(v)}</${k}>`
  const items = list.map((e) => `<List>${Object.entries(e).map(field).join('')}</List>`).join('')
  return (
    `<xml><ToUserName>${cdata(appName)}</ToUserName><FromUserName>${cdata(openid)}</FromUserName>` +
    `<CreateTime>${seconds}</CreateTime><MsgType>${cdata('event')}</MsgType><Event>${cdata(event)}</Event>` +
    `<${wrapper}>${items}</${wrapper}></xml>`
  )
}

function post(url, query, body) {
  const target = new URL(url)
  for (const [k, v] of Object.entries(query)) target.searchParams.set(k, v)
  return new Promise((resolve, reject) => {
    const req = http.request(target, { method: 'POST', headers: { 'content-type': 'text/xml' } }, (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode, text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

// One event's request to `openid`'s app as WeChat signs it (and in safe mode encrypts it) for
// `target` at `at`: its query and body.
function signed(target, at, openid, text) {
  const timestamp = String(Math.floor(at / 1000))
  const nonce = String(crypto.randomInt(1e9))
  const query = { signature: sha1([target.token, timestamp, nonce]), timestamp, nonce, openid }
  if (!target.encodingAesKey) return { query, body: text }
  const ciphertext = encrypt(text, target)
  Object.assign(query, { encrypt_type: 'aes', msg_signature: sha1([target.token, timestamp, nonce, ciphertext]) })
  const body =
    target.format === 'json'
      ? JSON.stringify({ ToUserName: target.appName, Encrypt: ciphertext })
      : `<xml><ToUserName>${cdata(target.appName)}</ToUserName><Encrypt>${cdata(ciphertext)}</Encrypt></xml>`
  return { query, body }
}

// The three subscription events, each an event name, its XML wrapper and its entries, made by `emit`.
const subscriptionEvents = (emit) => ({
  popup: (openid, answers) =>
    emit(
      'subscribe_msg_popup_event',
      'SubscribeMsgPopupEvent',
      openid,
      Object.entries(answers).map(([t, s]) => ({ TemplateId: t, SubscribeStatusString: s, PopupScene: 0 })),
    ),
  change: (openid, templateId) =>
    emit('subscribe_msg_change_event', 'SubscribeMsgChangeEvent', openid, [
      { TemplateId: templateId, SubscribeStatusString: 'reject' },
    ]),
  sent: (openid, templateId, msgid, errorCode, errorStatus) =>
    emit('subscribe_msg_sent_event', 'SubscribeMsgSentEvent', openid, [
      { TemplateId: templateId, MsgID: msgid, ErrorCode: errorCode, ErrorStatus: errorStatus },
    ]),
})

// One request POSTed to the app, and recorded in `pushed` with the app's answer.
async function recorded(pushed, url, request) {
  const { status, text } = await post(url, request.query, request.body)
  const record = { ...request, status, answer: text }
  pushed.push(record)
  return record
}

/** The event pusher of one fake: `now` is the fake's clock. */
function createPusher(now) {
  let target = null
  const pushed = [] // every request made: { event, openid, query, body, status, answer }
  const pending = new Set()
  const send = async (request) => recorded(pushed, target.url, request)
  // Signs (and in safe mode encrypts) one event's text and POSTs it to the app.
  const deliver = async (event, openid, text) => {
    const { query, body } = signed(target, now(), openid, text)
    return send({ event, openid, text, query, body })
  }
  const emit = (event, wrapper, openid, list) => {
    if (target === null) return null
    const text = eventText({ format: target.format, appName: target.appName, openid, at: now(), event, wrapper, list })
    const p = deliver(event, openid, text).finally(() => pending.delete(p))
    pending.add(p)
    return p
  }
  return {
    /** Where events go: { url, token, encodingAesKey? (safe mode), appId (safe mode), format
     * ('xml' | 'json', default 'xml'), appName (ToUserName, default 'gh_fake') }. */
    configure({ url, token, encodingAesKey, appId, format = 'xml', appName = 'gh_fake' }) {
      target = { url, token, encodingAesKey, appId, format, appName }
    },
    ...subscriptionEvents(emit),
    /** The same request again, byte for byte (a replay). */
    resend: (record) =>
      send({ event: record.event, openid: record.openid, text: record.text, query: record.query, body: record.body }),
    /** The same event again, signed anew (WeChat's retry of a push it got no answer to). */
    retry: (record) => deliver(record.event, record.openid, record.text),
    pushed,
    /** Settles once every event pushed so far has been answered. */
    settled: async () => {
      while (pending.size) await Promise.allSettled([...pending])
    },
  }
}

module.exports = { createPusher }
