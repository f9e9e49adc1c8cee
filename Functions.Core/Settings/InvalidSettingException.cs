namespace Functions.Core.Settings;

/// <summary>A setting the app cannot use. The message says why without quoting the value (it may be a secret).</summary>
/// <param name="setting">The app-setting name, <c>__</c> form: <c>AzureWebJobsStorage</c>, <c>OpenAI__Endpoint</c>.</param>
public sealed class InvalidSettingException(string setting, string reason, Exception? inner = null)
    : Exception($"{setting} {reason}", inner)
{
    public string Setting { get; } = setting;
}
