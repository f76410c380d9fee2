//! moto, the AWS API emulator, in server mode on a loopback port, with a launcher that makes it
//! delete a stack's resources as AWS CloudFormation does.

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long moto may take to answer after it starts.
const MOTO_START: Duration = Duration::from_secs(30);

/// moto in server mode on a free loopback port, killed when dropped.
///
/// It is started through a small launcher that makes moto delete what AWS CloudFormation deletes
/// with a stack, which moto 5 does not: an instance's primary network interface, an internet
/// gateway and its attachment, routes, route tables and their subnet associations, and a load
/// balancer's target group. Without it a
/// stack with its own VPC cannot be deleted in moto (DependencyViolation on the VPC).
pub struct Moto {
    child: Child,
    pub endpoint: String,
    _dir: tempfile::TempDir,
}

const MOTO_LAUNCHER: &str = r#"
import sys
from moto.ec2.models import ec2_backends
from moto.ec2.models.instances import Instance
from moto.ec2.models.internet_gateways import InternetGateway
from moto.ec2.models.route_tables import Route, RouteTable
from moto.ec2.models.subnets import SubnetRouteTableAssociation
from moto.ec2.models.vpn_gateway import VPCGatewayAttachment

_terminate = Instance.terminate
def terminate(self):
    for nic in self.nics.values():
        nic.delete_on_termination = True
    return _terminate(self)
Instance.terminate = terminate

# moto deletes a stack's resources in no particular order, retrying what fails: each of these
# is a no-op once what it would remove is already gone.
def detach(self, account_id, region):
    backend = ec2_backends[account_id][region]
    gateway = backend.internet_gateways.get(self.gateway_id or "")
    if gateway is not None and gateway.vpc is not None:
        backend.detach_internet_gateway(self.gateway_id, self.vpc_id)
VPCGatewayAttachment.delete = detach

def delete_gateway(self, account_id, region):
    backend = ec2_backends[account_id][region]
    if self.id in backend.internet_gateways:
        backend.delete_internet_gateway(self.id)
InternetGateway.delete = delete_gateway

def delete_route(self, account_id, region):
    backend = ec2_backends[account_id][region]
    table = backend.route_tables.get(self.route_table.id)
    if table is not None and self.id in table._routes:
        backend.delete_route(self.route_table.id, self.destination_cidr_block)
Route.delete = delete_route

def disassociate(self, account_id, region):
    table = ec2_backends[account_id][region].route_tables.get(self.route_table_id)
    if table is not None:
        for key, subnet in list(table._associations.items()):
            if subnet == self.subnet_id:
                del table._associations[key]
SubnetRouteTableAssociation.delete = disassociate

def delete_table(self, account_id, region):
    backend = ec2_backends[account_id][region]
    if self.id in backend.route_tables:
        backend.delete_route_table(self.id)
RouteTable.delete = delete_table

from moto.elbv2.models import FakeTargetGroup, elbv2_backends
def delete_target_group(self, account_id, region):
    backend = elbv2_backends[account_id][region]
    if self.arn in backend.target_groups:
        backend.delete_target_group(self.arn)
FakeTargetGroup.delete = delete_target_group

from moto.server import main
main(sys.argv[1:])
"#;

impl Moto {
    pub fn start() -> Moto {
        let dir = tempfile::tempdir().expect("temp dir");
        let launcher = dir.path().join("moto_launcher.py");
        fs::write(&launcher, MOTO_LAUNCHER).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let log = fs::File::create(dir.path().join("moto.log")).unwrap();
        let child = Command::new("python3")
            .arg(&launcher)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start moto");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        let deadline = Instant::now() + MOTO_START;
        let address: SocketAddr = ([127, 0, 0, 1], port).into();
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not listen on {address} within {MOTO_START:?}: {}",
                moto.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    fn log(&self) -> String {
        fs::read_to_string(self._dir.path().join("moto.log")).unwrap_or_default()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
