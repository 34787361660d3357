using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Shears.Tests.TestSupport;

/// <summary>
/// A tiny HTTP server on 127.0.0.1 for download tests: each path is served by a route (bytes, a status, a
/// connection broken off midway, a stall); anything else is 404. Nothing leaves the machine.
/// </summary>
internal sealed class DataLoopbackServer : IDisposable
{
    private readonly HttpListener _listener;
    private readonly ConcurrentDictionary<string, Func<HttpListenerContext, Task>> _routes = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public DataLoopbackServer()
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = FreePort();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                _listener = listener;
                BaseUrl = $"http://127.0.0.1:{port}/";
                break;
            }
            catch (HttpListenerException) when (attempt < 10)
            {
                listener.Close();
            }
        }
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The server's root URL, with a trailing slash.</summary>
    public string BaseUrl { get; }

    /// <summary>The paths requested so far, in order of arrival.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>A port on 127.0.0.1 that nothing listens on (a connection there is refused).</summary>
    public static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    public void Serve(string path, byte[] body) => _routes[path] = async context =>
    {
        context.Response.ContentLength64 = body.Length;
        await context.Response.OutputStream.WriteAsync(body);
        context.Response.Close();
    };

    public void Status(string path, int status) => _routes[path] = context =>
    {
        context.Response.StatusCode = status;
        context.Response.Close();
        return Task.CompletedTask;
    };

    /// <summary>Announces the whole body, sends the first <paramref name="sent"/> bytes, then drops the connection.</summary>
    public void BreakOff(string path, byte[] body, int sent) => _routes[path] = async context =>
    {
        context.Response.ContentLength64 = body.Length;
        await context.Response.OutputStream.WriteAsync(body.AsMemory(0, sent));
        await context.Response.OutputStream.FlushAsync();
        await Task.Delay(50);
        context.Response.Abort();
    };

    /// <summary>Sends headers and a few bytes, then nothing until the server stops.</summary>
    public void Stall(string path, byte[] body) => _routes[path] = async context =>
    {
        context.Response.ContentLength64 = body.Length;
        await context.Response.OutputStream.WriteAsync(body.AsMemory(0, Math.Min(16, body.Length)));
        await context.Response.OutputStream.FlushAsync();
        try
        {
            await Task.Delay(Timeout.Infinite, _stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
        context.Response.Abort();
    };

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested || !_listener.IsListening)
            {
                return;
            }
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        string path = context.Request.Url!.AbsolutePath;
        Requests.Enqueue(path);
        try
        {
            if (_routes.TryGetValue(path, out var route))
            {
                await route(context);
            }
            else
            {
                context.Response.StatusCode = 404;
                context.Response.Close();
            }
        }
        catch (Exception)
        {
            try
            {
                context.Response.Abort();
            }
            catch (Exception)
            {
                // the client went away first
            }
        }
    }
}
