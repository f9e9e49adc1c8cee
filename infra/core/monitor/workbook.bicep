metadata description = 'The chat backend workbook on Application Insights: tokens, cost, latency and error rate per model and endpoint, cache hit ratio, time to first chunk, queue wait and depth.'

@description('Resource ID of the Application Insights component the workbook queries.')
param applicationInsightsId string

@description('Resource ID of the storage account whose queues the workbook charts (QueueMessageCount).')
param storageAccountId string

@description('Azure region of the workbook.')
param location string

@description('Tags applied to the workbook.')
param tags {
  *: string
}

// The workbook's items are JSON (edit them in the portal and paste the gallery template back); only the resource IDs
// are filled in here.
var content = replace(
  replace(loadTextContent('chat-backend.workbook.json'), '{storageAccountId}', storageAccountId),
  '{applicationInsightsId}',
  applicationInsightsId
)

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // A workbook's name must be a GUID; this one is stable per component, so a redeployment updates it in place.
  name: guid(applicationInsightsId, 'chat-backend-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Chat backend'
    category: 'workbook'
    sourceId: applicationInsightsId
    serializedData: content
  }
}

@description('Resource ID of the workbook.')
output id string = workbook.id
