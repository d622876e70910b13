// A subscribe body checked against its template before it is sent: the registry fetches the app's
// template list (getTemplateList) through the worker's transport, and the core refuses a body whose
// keys are not the template's keywords, or whose enum keyword has another value, where WeChat would
// answer 47003. The package's fake WeChat stands in for api.weixin.qq.com here.
const { httpTransport, TokenKeeper } = require('weapp-notify/worker')
const { TemplateRegistry } = require('weapp-notify/templates')
const { createFakeWeChat } = require('weapp-notify/testing')

const ORDER_STATUS = {
  priTmplId: 'TPL_ORDER_STATUS',
  title: '订单状态提醒',
  content: '商品名称:{{thing1.DATA}}\n订单状态:{{phrase2.DATA}}\n',
  type: 2,
  keywordEnumValueList: [{ keywordCode: 'phrase2.DATA', enumValueList: ['已发货', '已签收'] }],
}

async function main() {
  const wechat = await createFakeWeChat({ templateList: [ORDER_STATUS] })
  const transport = httpTransport({ baseUrl: wechat.url })
  const tokens = new TokenKeeper({ transport, appid: wechat.appid, secret: wechat.secret })
  // The list is fetched once an hour; the worker takes the same registry: runDailyPush({ templates, ... }).
  const templates = new TemplateRegistry({ transport, tokens, ttlMs: 3600000 })
  const touser = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o'
  wechat.grant(touser, 'TPL_ORDER_STATUS')

  const { keywords } = await templates.template('TPL_ORDER_STATUS')
  console.log(`keywords: ${keywords.map((k) => `${k.key} (${k.label})`).join(', ')}`)
  for (const data of [
    { thing1: '绿茶礼盒' },
    { thing1: '绿茶礼盒', phrase2: '已发货', thing3: '顺丰' },
    { thing1: '绿茶礼盒', phrase2: '运输中' },
    { thing1: '绿茶礼盒', phrase2: '已发货' },
  ]) {
    try {
      const { path, json } = await templates.buildSubscribeMessage({ touser, templateId: 'TPL_ORDER_STATUS', data })
      const { json: answer } = await transport.post(`${path}?access_token=${await tokens.get()}`, json)
      console.log(`sent: errcode ${answer.errcode}`)
    } catch (e) {
      console.log(`refused before sending: ${e.code} ${e.message}`)
    }
  }
  transport.close()
  await wechat.close()
}

main()
