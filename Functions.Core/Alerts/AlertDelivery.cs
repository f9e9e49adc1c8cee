using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Functions.Core.Alerts;

public enum AlertOutcome
{
    /// <summary>Delivered to every channel by this call.</summary>
    Sent,
    /// <summary>Delivered earlier.</summary>
    AlreadySent,
    /// <summary>Another run holds the claim (it is sending now, or a crashed sender's lease has not run out).</summary>
    ClaimedElsewhere,
    /// <summary>At least one channel failed; the alert stays Pending, unclaimed, for the next run.</summary>
    Failed,
}

/// <summary>
/// Sends each alert once however many runs and instances try. The state row's insert is the lock (409: someone
/// else has it) and carries a claim lease; a run that finds it Pending with the lease run out (a sender that failed
/// or crashed) takes it over with an ETag-conditional update (412: someone else did). Only a delivery to every
/// channel marks it Sent; a failure releases the claim at once so the next run retries. A sender that dies between
/// a webhook's 2xx and recording it could make that channel see the alert twice after the lease: the message's
/// stable id lets receivers drop the repeat.
/// </summary>
public sealed class AlertDelivery(AlertStates states, AlertSender sender, IOptions<AlertOptions> options, TimeProvider time,
    ILogger<AlertDelivery> logger)
{
    public async Task<AlertOutcome> DeliverAsync(string partition, string rowKey, AlertState? known,
        Func<CancellationToken, Task<AlertMessage>> compose, CancellationToken cancellationToken)
    {
        var claimed = await ClaimAsync(partition, rowKey, known, compose, cancellationToken);
        if (claimed.State is null)
        {
            return claimed.Outcome;
        }

        var state = claimed.State;
        var message = AlertMessage.FromJson(state.Message);
        var sent = state.SentChannels.Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();
        var channels = await sender.ChannelsAsync(cancellationToken);
        foreach (var channel in channels.Where(channel => !state.HasSent(channel)))
        {
            if (await sender.SendAsync(channel, message, cancellationToken))
            {
                sent.Add(channel.Name);
            }
        }

        var done = channels.All(channel => sent.Contains(channel.Name));
        var finished = state with
        {
            State = done ? AlertState.Sent : AlertState.Pending,
            ClaimedUntil = done ? state.ClaimedUntil : time.GetUtcNow(),
            SentChannels = string.Join(',', sent),
            Attempts = state.Attempts + 1,
        };
        if (await states.TryReplaceAsync(finished, CancellationToken.None) is null)
        {
            AlertsLog.ClaimLost(logger, message.Id);
        }
        if (done)
        {
            AlertsLog.Sent(logger, message.Id, sent.Count);
        }
        return done ? AlertOutcome.Sent : AlertOutcome.Failed;
    }

    private async Task<(AlertState? State, AlertOutcome Outcome)> ClaimAsync(string partition, string rowKey, AlertState? known,
        Func<CancellationToken, Task<AlertMessage>> compose, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var until = now + options.Value.ClaimLease;
        if (known is null)
        {
            var message = await compose(cancellationToken);
            var fresh = new AlertState(partition, rowKey, AlertState.Pending, until, "", 0, message.ToJson());
            return await states.TryAddAsync(fresh, cancellationToken) is { } added
                ? (added, AlertOutcome.Sent)
                : (null, AlertOutcome.ClaimedElsewhere);
        }
        if (known.State == AlertState.Sent)
        {
            return (null, AlertOutcome.AlreadySent);
        }
        if (known.ClaimedUntil > now)
        {
            return (null, AlertOutcome.ClaimedElsewhere);
        }
        return await states.TryReplaceAsync(known with { ClaimedUntil = until }, cancellationToken) is { } taken
            ? (taken, AlertOutcome.Sent)
            : (null, AlertOutcome.ClaimedElsewhere);
    }
}
